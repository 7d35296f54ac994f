#include "target/runtime_layout.h"

#include <string>
#include <string_view>
#include <vector>

namespace hotalloc::target {

namespace {

// Where one RuntimeLayout field lives in DWARF, and the width BPF reads it
// with (0: not checked, e.g. pointers whose width is the pointer size anyway).
struct FieldSpec {
  std::string_view field;
  uint16_t RuntimeLayout::*offset;
  std::string_view type;
  std::string_view member;
  uint64_t width;
};

std::vector<FieldSpec> field_specs(const RuntimeLayout& l, const GoVersion& go) {
  std::vector<FieldSpec> specs = {
      {"mcache_alloc", &RuntimeLayout::mcache_alloc, "runtime.mcache", "alloc", 0},
      {"mcache_tiny_allocs", &RuntimeLayout::mcache_tiny_allocs, "runtime.mcache", "tinyAllocs", 8},
      {"mspan_nelems", &RuntimeLayout::mspan_nelems, "runtime.mspan", "nelems", l.mspan_nelems_size},
      {"mspan_alloc_count", &RuntimeLayout::mspan_alloc_count, "runtime.mspan", "allocCount", 2},
      {"mspan_alloc_count_before_cache", &RuntimeLayout::mspan_alloc_count_before_cache, "runtime.mspan",
       "allocCountBeforeCache", 2},
      {"mspan_elemsize", &RuntimeLayout::mspan_elemsize, "runtime.mspan", "elemsize", 8},
      {"mspan_spanclass", &RuntimeLayout::mspan_spanclass, "runtime.mspan", "spanclass", 1},
      {"g_stack_lo", &RuntimeLayout::g_stack_lo, "runtime.g", "stack.lo", 8},
      {"g_stack_hi", &RuntimeLayout::g_stack_hi, "runtime.g", "stack.hi", 8},
      {"g_m", &RuntimeLayout::g_m, "runtime.g", "m", 8},
      {"g_goid", &RuntimeLayout::g_goid, "runtime.g", "goid", 8},
  };
  // Go 1.21 moved the type descriptors to internal/abi and capitalised them.
  bool abi = go.at_least(1, 21);
  std::string_view type = abi ? "internal/abi.Type" : "runtime._type";
  specs.push_back({"type_size", &RuntimeLayout::type_size, type, abi ? "Size_" : "size", 8});

  if (!l.swiss_maps) {
    constexpr std::string_view hmap = "runtime.hmap";
    std::string_view maptype = abi ? "internal/abi.MapType" : "runtime.maptype";
    specs.insert(specs.end(), {
        {"hmap_count", &RuntimeLayout::hmap_count, hmap, "count", 8},
        {"hmap_flags", &RuntimeLayout::hmap_flags, hmap, "flags", 1},
        {"hmap_b", &RuntimeLayout::hmap_b, hmap, "B", 1},
        {"hmap_noverflow", &RuntimeLayout::hmap_noverflow, hmap, "noverflow", 2},
        {"hmap_buckets", &RuntimeLayout::hmap_buckets, hmap, "buckets", 8},
        {"hmap_oldbuckets", &RuntimeLayout::hmap_oldbuckets, hmap, "oldbuckets", 8},
        {"hmap_nevacuate", &RuntimeLayout::hmap_nevacuate, hmap, "nevacuate", 8},
        {"maptype_key", &RuntimeLayout::maptype_key, maptype, abi ? "Key" : "key", 8},
        {"maptype_elem", &RuntimeLayout::maptype_elem, maptype, abi ? "Elem" : "elem", 8},
        {"maptype_keysize", &RuntimeLayout::maptype_keysize, maptype, abi ? "KeySize" : "keysize", 1},
        {"maptype_bucketsize", &RuntimeLayout::maptype_bucketsize, maptype, abi ? "BucketSize" : "bucketsize", 2},
    });
  } else {
    constexpr std::string_view map = "internal/runtime/maps.Map";
    constexpr std::string_view table = "internal/runtime/maps.table";
    // 1.24–1.25 named the descriptor SwissMapType (the classic one still existed).
    std::string_view maptype = go.at_least(1, 26) ? "internal/abi.MapType" : "internal/abi.SwissMapType";
    specs.insert(specs.end(), {
        {"swiss_map_used", &RuntimeLayout::swiss_map_used, map, "used", 8},
        {"swiss_map_dir_ptr", &RuntimeLayout::swiss_map_dir_ptr, map, "dirPtr", 8},
        {"swiss_map_dir_len", &RuntimeLayout::swiss_map_dir_len, map, "dirLen", 8},
        {"swiss_map_global_depth", &RuntimeLayout::swiss_map_global_depth, map, "globalDepth", 1},
        {"swiss_table_used", &RuntimeLayout::swiss_table_used, table, "used", 2},
        {"swiss_table_capacity", &RuntimeLayout::swiss_table_capacity, table, "capacity", 2},
        {"swiss_table_local_depth", &RuntimeLayout::swiss_table_local_depth, table, "localDepth", 1},
        {"maptype_key", &RuntimeLayout::maptype_key, maptype, "Key", 8},
        {"maptype_elem", &RuntimeLayout::maptype_elem, maptype, "Elem", 8},
        {"maptype_group", &RuntimeLayout::maptype_group, maptype, "Group", 8},
        {"maptype_group_size", &RuntimeLayout::maptype_group_size, maptype, "GroupSize", 8},
        {"maptype_slot_size", &RuntimeLayout::maptype_slot_size, maptype,
         go.at_least(1, 27) ? "KeyStride" : "SlotSize", 8},
    });
  }
  return specs;
}

}  // namespace

Result<RuntimeLayout> runtime_layout(const GoVersion& go) {
  if (auto ok = check_go_supported(go); !ok) return fail(ok.error());
  RuntimeLayout l;

  // 1.24 added mcache.memProfRate before the counters.
  bool mcache_shifted = go.at_least(1, 24);
  l.mcache_tiny_allocs = mcache_shifted ? 40 : 32;
  l.mcache_alloc = mcache_shifted ? 48 : 40;

  // 1.21 inserted pinnerBits at 88 (+8 for what follows); 1.22 narrowed
  // freeindex/nelems to uint16 and moved freeIndexForScan up, undoing it.
  if (go.at_least(1, 22)) {
    l.mspan_nelems = 50;
    l.mspan_nelems_size = 2;
  } else {
    l.mspan_nelems = 56;
    l.mspan_nelems_size = 8;
  }
  uint16_t pinner_shift = go.series(1, 21) ? 8 : 0;
  l.mspan_alloc_count = 96 + pinner_shift;
  l.mspan_spanclass = 98 + pinner_shift;
  l.mspan_alloc_count_before_cache = 102 + pinner_shift;
  l.mspan_elemsize = 104 + pinner_shift;

  l.g_m = 48;
  // 1.23 added g.syscallbp before goid; 1.25 removed gobuf.ret from g.sched, also before it.
  l.g_goid = go.at_least(1, 23) && !go.at_least(1, 25) ? 160 : 152;

  l.maptype_key = 48;
  l.maptype_elem = 56;
  l.swiss_maps = go.at_least(1, 24);
  if (!l.swiss_maps) {
    l.hmap_count = 0;
    l.hmap_flags = 8;
    l.hmap_b = 9;
    l.hmap_noverflow = 10;
    l.hmap_buckets = 16;
    l.hmap_oldbuckets = 24;
    l.hmap_nevacuate = 32;
    l.maptype_keysize = 80;
    l.maptype_bucketsize = 82;
  } else {
    l.swiss_map_used = 0;
    l.swiss_map_dir_ptr = 16;
    l.swiss_map_dir_len = 24;
    l.swiss_map_global_depth = 32;
    l.swiss_table_used = 0;
    l.swiss_table_capacity = 2;
    l.swiss_table_local_depth = 6;
    l.maptype_group = 64;
    l.maptype_group_size = 80;
    l.maptype_slot_size = go.at_least(1, 27) ? 96 : 88;
  }
  return l;
}

Status verify_layout(const RuntimeLayout& layout, const GoVersion& go, const DwarfTypes& dwarf, bool require_all) {
  std::string problems;
  auto note = [&problems](std::string text) {
    problems += problems.empty() ? "" : "; ";
    problems += text;
  };
  for (const FieldSpec& spec : field_specs(layout, go)) {
    uint16_t expected = layout.*spec.offset;
    auto member = dwarf.member(spec.type, spec.member);
    if (!member) {
      if (require_all || dwarf.has_type(spec.type))
        note(fmt::format("{}: DWARF has no {}.{}", spec.field, spec.type, spec.member));
      continue;
    }
    if (member->offset != expected)
      note(fmt::format("{}: {}.{} is at {} in DWARF, not {}", spec.field, spec.type, spec.member, member->offset,
                       expected));
    if (spec.width && member->size != spec.width)
      note(fmt::format("{}: {}.{} is {} bytes wide in DWARF, not {}", spec.field, spec.type, spec.member,
                       member->size, spec.width));
  }
  if (!problems.empty()) return fail("runtime layout of Go {} does not match DWARF: {}", go.name(), problems);
  return {};
}

}  // namespace hotalloc::target
