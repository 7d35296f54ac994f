// Byte offsets into Go runtime structures that the BPF programs read, per Go
// release series. The numbers come from the DWARF of real binaries of every
// supported series; choose_layout() repeats that check against any binary
// that still has DWARF, prefers DWARF where the two disagree, and admits a
// version without a table (newer than the newest known) only when its DWARF
// describes every field.
#pragma once

#include <cstdint>
#include <string>

#include "target/dwarf_layout.h"
#include "target/go_version.h"
#include "util/result.h"

namespace hotalloc::target {

// Marks an offset whose field does not exist in this version (the other map
// implementation's fields, a removed field).
inline constexpr uint16_t kNoField = 0xffff;

struct RuntimeLayout {
  // runtime.mcache
  uint16_t mcache_alloc = kNoField;        // alloc [numSpanClasses]*mspan
  uint16_t mcache_tiny_allocs = kNoField;  // tinyAllocs uintptr

  // runtime.mspan
  uint16_t mspan_nelems = kNoField;
  uint16_t mspan_nelems_size = 0;                      // 8 (uintptr) before 1.22, 2 (uint16) since
  uint16_t mspan_alloc_count = kNoField;               // uint16
  uint16_t mspan_alloc_count_before_cache = kNoField;  // uint16
  uint16_t mspan_elemsize = kNoField;                  // uintptr
  uint16_t mspan_spanclass = kNoField;                 // uint8

  // runtime.g (the amd64 ABI keeps the current g in R14, arm64 in R28)
  uint16_t g_stack_lo = 0;
  uint16_t g_stack_hi = 8;
  uint16_t g_m = kNoField;
  uint16_t g_goid = kNoField;

  // Which map implementation the runtime has: classic buckets (up to 1.23)
  // or swiss tables (1.24 on). The other model's offsets are kNoField.
  bool swiss_maps = false;

  // Classic runtime.hmap
  uint16_t hmap_count = kNoField;      // int
  uint16_t hmap_flags = kNoField;      // uint8
  uint16_t hmap_b = kNoField;          // uint8, log2 of the bucket count
  uint16_t hmap_noverflow = kNoField;  // uint16
  uint16_t hmap_buckets = kNoField;
  uint16_t hmap_oldbuckets = kNoField;
  uint16_t hmap_nevacuate = kNoField;
  // A classic map doubles when count > hmap_load_factor_num / 2 per bucket:
  // 13 (6.5) except in 1.21, where integer math made it 12 (6.0).
  uint16_t hmap_load_factor_num = 0;

  // Swiss internal/runtime/maps.Map and maps.table
  uint16_t swiss_map_used = kNoField;  // uint64
  uint16_t swiss_map_dir_ptr = kNoField;
  uint16_t swiss_map_dir_len = kNoField;        // int; 0 while the map is one small group
  uint16_t swiss_map_global_depth = kNoField;   // uint8
  uint16_t swiss_table_used = kNoField;         // uint16
  uint16_t swiss_table_capacity = kNoField;     // uint16
  uint16_t swiss_table_local_depth = kNoField;  // uint8

  // The map type descriptor (runtime.maptype, abi.MapType, abi.SwissMapType)
  uint16_t maptype_key = kNoField;         // *_type of the key
  uint16_t maptype_elem = kNoField;        // *_type of the element
  uint16_t maptype_keysize = kNoField;     // classic: uint8
  uint16_t maptype_bucketsize = kNoField;  // classic: uint16
  uint16_t maptype_group = kNoField;       // swiss: *_type of a slot group
  uint16_t maptype_group_size = kNoField;  // swiss: uintptr
  // swiss: uintptr distance between consecutive keys of a group: SlotSize up
  // to 1.26, KeyStride from 1.27 (still the slot size unless the binary was
  // built with GOEXPERIMENT=mapsplitgroup, which stores keys together)
  uint16_t maptype_slot_size = kNoField;

  // runtime._type / abi.Type
  uint16_t type_size = 0;  // uintptr

  friend bool operator==(const RuntimeLayout&, const RuntimeLayout&) = default;
};

// The layout of a supported Go version; refuses others (check_go_supported).
Result<RuntimeLayout> runtime_layout(const GoVersion& go);

enum class LayoutSource {
  table,  // the per-version table (confirmed by DWARF when dwarf_checked)
  dwarf,  // the binary's DWARF: it disagreed with the table, or the version has none
};

struct LayoutChoice {
  RuntimeLayout layout;
  LayoutSource source = LayoutSource::table;
  bool dwarf_checked = false;  // the binary had DWARF and every field it describes was compared
  std::string disagreement;    // what DWARF corrected in the table (for a warning); empty if nothing
};

// The layout a binary of Go `go` is traced with; `dwarf` is its DWARF, or
// nullptr when it has none. A supported version gets its table, checked
// against DWARF where there is DWARF; where they disagree DWARF wins, and
// `disagreement` says how. A version without a table (1.20, or newer than
// the newest known) gets DWARF's offsets, and is refused, naming the version
// and what is missing, unless DWARF describes every field. Widths BPF cannot
// read are refused too.
Result<LayoutChoice> choose_layout(const GoVersion& go, const DwarfTypes* dwarf);

// Compares every offset of `layout` (and the widths BPF relies on) with the
// binary's DWARF. Fails listing each mismatch, and each field the DWARF does
// not describe (a type the linker left out counts as a mismatch only when
// `require_all` is set).
Status verify_layout(const RuntimeLayout& layout, const GoVersion& go, const DwarfTypes& dwarf,
                     bool require_all = false);

}  // namespace hotalloc::target
