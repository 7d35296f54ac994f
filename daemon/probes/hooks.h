// Which Go runtime functions hotalloc hooks, and how a binary's probes are
// planned: function lookup, prologue decoding, file offsets and cookies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/hotalloc.h"
#include "probes/placement.h"
#include "target/go_binary.h"
#include "target/runtime_layout.h"
#include "util/result.h"

namespace hotalloc::probes {

// Where in the function a hook's probes go: one at the prologue (see
// placement.h), one on each return instruction, to read a result, one on
// each call of `callee`, to read what the function passes it, or, in a map
// constructor, one on the call that seeds the new map's hash, where the map
// is already made (see pointer_across_call_site; the RETs where there is no
// such call: up to Go 1.21, and in the swiss makemap).
enum class HookSite { prologue, returns, calls, map_seed_call };

// always: attached with the target. inserts: the map-insert tier, attached
// and detached at run time (--map-inserts, hotkeys --for).
enum class Tier { always, inserts };

struct HookSpec {
  ha_probe probe;
  std::string_view symbol;
  bool required;  // a binary without it cannot be traced
  HookSite site = HookSite::prologue;
  Tier tier = Tier::always;
  // Go 1.N versions whose register arguments the program reads (0: any).
  int min_go_minor = 0, max_go_minor = 0;
  std::string_view callee = {};  // HookSite::calls
};

// The always-on tier: span accounting at refill and flush, large allocations;
// map creation, growth and evacuation (classic runtime.* up to Go 1.23, swiss
// internal/runtime/maps.* from 1.24: a binary has one set, and the linker
// drops what the program never reaches, so map hooks are optional); GC
// cycles. Then the insert tier. The same names and register layouts in
// every supported Go version.
inline constexpr HookSpec kHooks[] = {
    {HA_PROBE_REFILL, "runtime.(*mcache).refill", true},
    {HA_PROBE_RELEASE_ALL, "runtime.(*mcache).releaseAll", true},
    {HA_PROBE_ALLOC_LARGE, "runtime.(*mcache).allocLarge", true},
    {HA_PROBE_MAKEMAP, "runtime.makemap", false, HookSite::map_seed_call},
    {HA_PROBE_MAKEMAP, "runtime.makemap_small", false, HookSite::map_seed_call},
    {HA_PROBE_HASH_GROW, "runtime.hashGrow", false},
    {HA_PROBE_EVACUATE, "runtime.evacuate", false},
    {HA_PROBE_EVACUATE, "runtime.evacuate_fast32", false},
    {HA_PROBE_EVACUATE, "runtime.evacuate_fast64", false},
    {HA_PROBE_EVACUATE, "runtime.evacuate_faststr", false},
    {HA_PROBE_GROW_TO_SMALL, "internal/runtime/maps.(*Map).growToSmall", false},
    {HA_PROBE_GROW_TO_TABLE, "internal/runtime/maps.(*Map).growToTable", false},
    {HA_PROBE_TABLE_GROW, "internal/runtime/maps.(*table).grow", false},
    {HA_PROBE_TABLE_SPLIT, "internal/runtime/maps.(*table).split", false},
    {HA_PROBE_GROWTH_RET, "internal/runtime/maps.(*Map).growToTable", false, HookSite::returns},
    {HA_PROBE_GROWTH_RET, "internal/runtime/maps.(*table).grow", false, HookSite::returns},
    {HA_PROBE_GROWTH_RET, "internal/runtime/maps.(*table).split", false, HookSite::returns},
    {HA_PROBE_NEWARRAY, "runtime.newarray", false},
    {HA_PROBE_GC_START, "runtime.gcStart", false},
    {HA_PROBE_GC_MARK_TERMINATION, "runtime.gcMarkTermination", false},
    {HA_PROBE_MAPASSIGN, "runtime.mapassign", false, HookSite::prologue, Tier::inserts},
    {HA_PROBE_MAPASSIGN_FAST32, "runtime.mapassign_fast32", false, HookSite::prologue, Tier::inserts},
    {HA_PROBE_MAPASSIGN_FAST64, "runtime.mapassign_fast64", false, HookSite::prologue, Tier::inserts},
    {HA_PROBE_MAPASSIGN_FAST64PTR, "runtime.mapassign_fast64ptr", false, HookSite::prologue, Tier::inserts},
    {HA_PROBE_MAPASSIGN_FASTSTR, "runtime.mapassign_faststr", false, HookSite::prologue, Tier::inserts},
    // growslice took (et, old slice, cap) up to 1.19 and (oldPtr, newLen,
    // oldCap, num, et) from 1.20 on; its mallocgc call gives the new array's size.
    {HA_PROBE_GROWSLICE_GO119, "runtime.growslice", false, HookSite::prologue, Tier::inserts, 0, 19},
    {HA_PROBE_GROWSLICE, "runtime.growslice", false, HookSite::prologue, Tier::inserts, 20, 0},
    {HA_PROBE_GROWSLICE_ALLOC, "runtime.growslice", false, HookSite::calls, Tier::inserts, 0, 0,
     "runtime.mallocgc"},
};

struct PlannedProbe {
  ha_probe probe;
  Tier tier = Tier::always;
  std::string symbol;
  uint64_t function_address = 0;
  uint64_t function_file_offset = 0;
  Site site;
  uint64_t attach_offset = 0;  // file offset of the probed instruction

  uint8_t cookie_flags() const {
    return (site.drop_taken_branch ? HA_SITE_STACK_CHECK_BRANCH : 0) | (site.stack_slot ? HA_SITE_STACK_SLOT : 0);
  }
  uint16_t cookie_slot() const { return site.stack_slot.value_or(0); }
};

struct ProbePlan {
  std::vector<PlannedProbe> probes;
};

// Places every hook of kHooks in `binary`; fails naming the first required
// hook that is missing or cannot be placed.
Result<ProbePlan> plan_probes(const target::GoBinary& binary);

// The BPF side's view of a runtime layout.
ha_layout to_bpf_layout(const target::RuntimeLayout& layout);

}  // namespace hotalloc::probes
