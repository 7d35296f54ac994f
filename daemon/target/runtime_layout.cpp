#include "target/runtime_layout.h"

#include <string>
#include <string_view>
#include <vector>

#include <fmt/ranges.h>

namespace hotalloc::target {

namespace {

// The DWARF name of the struct that tells which map implementation a
// runtime has: classic buckets or swiss tables.
constexpr std::string_view kHmapType = "runtime.hmap";
constexpr std::string_view kSwissMapType = "internal/runtime/maps.Map";

// A name one RuntimeLayout field has had in DWARF.
struct DwarfName {
  std::string_view type;
  std::string_view member;
};

// Where one RuntimeLayout field lives in DWARF, and the width BPF reads it
// with (0: not checked, e.g. pointers whose width is the pointer size anyway).
// Type and member names changed between versions (internal/abi took over the
// type descriptors in 1.21 and capitalised them; the swiss map descriptor was
// SwissMapType in 1.24–1.25; 1.27 replaced SlotSize by KeyStride), so a field
// lists every name it has had, newest first; the binary's DWARF shows which
// one applies. A field whose width varies by version names the RuntimeLayout
// member that records it instead of a fixed width.
struct FieldSpec {
  std::string_view field;
  uint16_t RuntimeLayout::*offset;
  std::vector<DwarfName> names;
  uint64_t width = 0;
  uint16_t RuntimeLayout::*width_field = nullptr;
};

std::vector<FieldSpec> field_specs(const RuntimeLayout& l) {
  constexpr std::string_view mcache = "runtime.mcache", mspan = "runtime.mspan", g = "runtime.g";
  std::vector<FieldSpec> specs = {
      {"mcache_alloc", &RuntimeLayout::mcache_alloc, {{mcache, "alloc"}}},
      {"mcache_tiny_allocs", &RuntimeLayout::mcache_tiny_allocs, {{mcache, "tinyAllocs"}}, 8},
      {"mspan_nelems", &RuntimeLayout::mspan_nelems, {{mspan, "nelems"}}, 0, &RuntimeLayout::mspan_nelems_size},
      {"mspan_alloc_count", &RuntimeLayout::mspan_alloc_count, {{mspan, "allocCount"}}, 2},
      {"mspan_alloc_count_before_cache", &RuntimeLayout::mspan_alloc_count_before_cache,
       {{mspan, "allocCountBeforeCache"}}, 2},
      {"mspan_elemsize", &RuntimeLayout::mspan_elemsize, {{mspan, "elemsize"}}, 8},
      {"mspan_spanclass", &RuntimeLayout::mspan_spanclass, {{mspan, "spanclass"}}, 1},
      {"g_stack_lo", &RuntimeLayout::g_stack_lo, {{g, "stack.lo"}}, 8},
      {"g_stack_hi", &RuntimeLayout::g_stack_hi, {{g, "stack.hi"}}, 8},
      {"g_m", &RuntimeLayout::g_m, {{g, "m"}}, 8},
      {"g_goid", &RuntimeLayout::g_goid, {{g, "goid"}}, 8},
      {"type_size", &RuntimeLayout::type_size, {{"internal/abi.Type", "Size_"}, {"runtime._type", "size"}}, 8},
  };

  if (!l.swiss_maps) {
    constexpr std::string_view hmap = kHmapType;
    // runtime.maptype up to 1.20, internal/abi.MapType in 1.21–1.23,
    // internal/abi.OldMapType in 1.24–1.25 built with GOEXPERIMENT=noswissmap.
    auto maptype = [](std::string_view abi, std::string_view old) {
      return std::vector<DwarfName>{{"internal/abi.MapType", abi}, {"internal/abi.OldMapType", abi},
                                    {"runtime.maptype", old}};
    };
    specs.insert(specs.end(), {
        {"hmap_count", &RuntimeLayout::hmap_count, {{hmap, "count"}}, 8},
        {"hmap_flags", &RuntimeLayout::hmap_flags, {{hmap, "flags"}}, 1},
        {"hmap_b", &RuntimeLayout::hmap_b, {{hmap, "B"}}, 1},
        {"hmap_noverflow", &RuntimeLayout::hmap_noverflow, {{hmap, "noverflow"}}, 2},
        {"hmap_buckets", &RuntimeLayout::hmap_buckets, {{hmap, "buckets"}}, 8},
        {"hmap_oldbuckets", &RuntimeLayout::hmap_oldbuckets, {{hmap, "oldbuckets"}}, 8},
        {"hmap_nevacuate", &RuntimeLayout::hmap_nevacuate, {{hmap, "nevacuate"}}, 8},
        {"maptype_key", &RuntimeLayout::maptype_key, maptype("Key", "key"), 8},
        {"maptype_elem", &RuntimeLayout::maptype_elem, maptype("Elem", "elem"), 8},
        {"maptype_keysize", &RuntimeLayout::maptype_keysize, maptype("KeySize", "keysize"), 1},
        {"maptype_bucketsize", &RuntimeLayout::maptype_bucketsize, maptype("BucketSize", "bucketsize"), 2},
    });
  } else {
    constexpr std::string_view map = kSwissMapType;
    constexpr std::string_view table = "internal/runtime/maps.table";
    // internal/abi.SwissMapType in 1.24–1.25, internal/abi.MapType from 1.26.
    auto maptype = [](std::string_view member) {
      return std::vector<DwarfName>{{"internal/abi.MapType", member}, {"internal/abi.SwissMapType", member}};
    };
    specs.insert(specs.end(), {
        {"swiss_map_used", &RuntimeLayout::swiss_map_used, {{map, "used"}}, 8},
        {"swiss_map_dir_ptr", &RuntimeLayout::swiss_map_dir_ptr, {{map, "dirPtr"}}, 8},
        {"swiss_map_dir_len", &RuntimeLayout::swiss_map_dir_len, {{map, "dirLen"}}, 8},
        {"swiss_map_global_depth", &RuntimeLayout::swiss_map_global_depth, {{map, "globalDepth"}}, 1},
        {"swiss_table_used", &RuntimeLayout::swiss_table_used, {{table, "used"}}, 2},
        {"swiss_table_capacity", &RuntimeLayout::swiss_table_capacity, {{table, "capacity"}}, 2},
        {"swiss_table_local_depth", &RuntimeLayout::swiss_table_local_depth, {{table, "localDepth"}}, 1},
        {"maptype_key", &RuntimeLayout::maptype_key, maptype("Key"), 8},
        {"maptype_elem", &RuntimeLayout::maptype_elem, maptype("Elem"), 8},
        {"maptype_group", &RuntimeLayout::maptype_group, maptype("Group"), 8},
        {"maptype_group_size", &RuntimeLayout::maptype_group_size, maptype("GroupSize"), 8},
        {"maptype_slot_size", &RuntimeLayout::maptype_slot_size,
         {{"internal/abi.MapType", "KeyStride"}, {"internal/abi.MapType", "SlotSize"},
          {"internal/abi.SwissMapType", "SlotSize"}},
         8},
    });
  }
  return specs;
}

// A field as the binary's DWARF describes it, under the first of its names
// the DWARF has.
struct DwarfField {
  DwarfName name;
  DwarfMember member;
};

std::optional<DwarfField> lookup(const FieldSpec& spec, const DwarfTypes& dwarf) {
  for (const DwarfName& n : spec.names)
    if (auto m = dwarf.member(n.type, n.member)) return DwarfField{n, *m};
  return std::nullopt;
}

bool describes_any_type(const FieldSpec& spec, const DwarfTypes& dwarf) {
  for (const DwarfName& n : spec.names)
    if (dwarf.has_type(n.type)) return true;
  return false;
}

void set_map_model(RuntimeLayout& l, bool swiss, const GoVersion& go) {
  l.swiss_maps = swiss;
  l.hmap_count = l.hmap_flags = l.hmap_b = l.hmap_noverflow = kNoField;
  l.hmap_buckets = l.hmap_oldbuckets = l.hmap_nevacuate = kNoField;
  l.hmap_load_factor_num = 0;
  l.maptype_keysize = l.maptype_bucketsize = kNoField;
  l.swiss_map_used = l.swiss_map_dir_ptr = l.swiss_map_dir_len = l.swiss_map_global_depth = kNoField;
  l.swiss_table_used = l.swiss_table_capacity = l.swiss_table_local_depth = kNoField;
  l.maptype_group = l.maptype_group_size = l.maptype_slot_size = kNoField;
  l.maptype_key = 48;
  l.maptype_elem = 56;
  if (!swiss) {
    l.hmap_count = 0;
    l.hmap_flags = 8;
    l.hmap_b = 9;
    l.hmap_noverflow = 10;
    l.hmap_buckets = 16;
    l.hmap_oldbuckets = 24;
    l.hmap_nevacuate = 32;
    l.hmap_load_factor_num = go.series(1, 21) ? 12 : 13;
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
}

// The table's layout for `go`; a version without an entry of its own gets
// the nearest older series' (DWARF must then confirm every field).
RuntimeLayout table_layout(const GoVersion& go) {
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

  set_map_model(l, go.at_least(1, 24), go);
  return l;
}

// Why a version has no table of its own, for messages.
std::string no_table_reason(const GoVersion& go) {
  if (go_support(go) == GoSupport::unverified)
    return fmt::format("Go {} has no verified runtime layout in hotalloc (known: {})", go.name(),
                       supported_go_versions());
  return fmt::format("Go {} is newer than every Go version hotalloc knows ({}), so it has no runtime layout table",
                     go.name(), supported_go_versions());
}

}  // namespace

Result<RuntimeLayout> runtime_layout(const GoVersion& go) {
  if (auto ok = check_go_supported(go); !ok) return fail(ok.error());
  return table_layout(go);
}

Status verify_layout(const RuntimeLayout& layout, const GoVersion& go, const DwarfTypes& dwarf, bool require_all) {
  std::vector<std::string> problems;
  for (const FieldSpec& spec : field_specs(layout)) {
    auto found = lookup(spec, dwarf);
    if (!found) {
      if (require_all || describes_any_type(spec, dwarf))
        problems.push_back(fmt::format("{}: DWARF has no {}.{}", spec.field, spec.names[0].type, spec.names[0].member));
      continue;
    }
    const auto& [name, member] = *found;
    if (member.offset != layout.*spec.offset)
      problems.push_back(fmt::format("{}: {}.{} is at {} in DWARF, not {}", spec.field, name.type, name.member,
                                     member.offset, layout.*spec.offset));
    uint64_t width = spec.width_field ? layout.*spec.width_field : spec.width;
    if (width && member.size != width)
      problems.push_back(fmt::format("{}: {}.{} is {} bytes wide in DWARF, not {}", spec.field, name.type,
                                     name.member, member.size, width));
  }
  if (!problems.empty())
    return fail("runtime layout of Go {} does not match DWARF: {}", go.name(), fmt::join(problems, "; "));
  return {};
}

Result<LayoutChoice> choose_layout(const GoVersion& go, const DwarfTypes* dwarf) {
  GoSupport support = go_support(go);
  if (support == GoSupport::too_old) return fail(check_go_supported(go).error());
  const bool known = support == GoSupport::supported;
  LayoutChoice choice{table_layout(go)};
  if (!dwarf) {
    if (known) return choice;
    return fail("{}, and the binary has no DWARF (built with -ldflags=-w, or stripped) to read it from",
                no_table_reason(go));
  }
  choice.dwarf_checked = true;
  RuntimeLayout& l = choice.layout;
  std::vector<std::string> corrected, undescribed;

  // A runtime has one map implementation; GOEXPERIMENT=noswissmap kept the
  // classic one in 1.24–1.25.
  bool swiss = dwarf->has_type(kSwissMapType), classic = dwarf->has_type(kHmapType);
  if (swiss != classic && swiss != l.swiss_maps) {
    corrected.push_back(fmt::format("maps are {} in DWARF, not {}", swiss ? "swiss tables" : "classic buckets",
                                    swiss ? "classic buckets" : "swiss tables"));
    set_map_model(l, swiss, go);
  }

  for (const FieldSpec& spec : field_specs(l)) {
    auto found = lookup(spec, *dwarf);
    if (!found) {
      undescribed.push_back(fmt::format("{}.{}", spec.names[0].type, spec.names[0].member));
      continue;
    }
    const auto& [name, member] = *found;
    if (spec.width_field) {
      // BPF reads a varying width only where it knows both: uintptr or uint16.
      if (member.size != 8 && member.size != 2)
        return fail("runtime layout of Go {}: DWARF gives {}.{} {} bytes, and hotalloc reads 2 or 8", go.name(),
                    name.type, name.member, member.size);
      if (member.size != l.*spec.width_field) {
        corrected.push_back(fmt::format("{}.{} is {} bytes wide in DWARF, not {}", name.type, name.member,
                                        member.size, l.*spec.width_field));
        l.*spec.width_field = static_cast<uint16_t>(member.size);
      }
    } else if (spec.width && member.size != spec.width) {
      return fail("runtime layout of Go {}: DWARF gives {}.{} {} bytes, and hotalloc reads {}", go.name(),
                  name.type, name.member, member.size, spec.width);
    }
    if (member.offset >= kNoField)
      return fail("runtime layout of Go {}: {}.{} is at {} in DWARF, beyond what hotalloc reads", go.name(),
                  name.type, name.member, member.offset);
    if (member.offset != l.*spec.offset) {
      corrected.push_back(fmt::format("{}.{} is at {} in DWARF, not {}", name.type, name.member, member.offset,
                                      l.*spec.offset));
      l.*spec.offset = static_cast<uint16_t>(member.offset);
    }
  }

  if (!known) {
    if (!undescribed.empty())
      return fail("{}, and the binary's DWARF does not describe {}", no_table_reason(go),
                  fmt::join(undescribed, ", "));
    choice.source = LayoutSource::dwarf;
    return choice;
  }
  // A known version keeps the table's offsets for what the linker left out
  // of DWARF (types the program never uses).
  if (!corrected.empty()) {
    choice.source = LayoutSource::dwarf;
    choice.disagreement = fmt::format("{}", fmt::join(corrected, "; "));
  }
  return choice;
}

}  // namespace hotalloc::target
