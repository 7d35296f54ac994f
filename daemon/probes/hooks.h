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

struct HookSpec {
  ha_probe probe;
  std::string_view symbol;
  bool required;  // a binary without it cannot be traced
};

// The always-on tier: span accounting at refill and flush, large allocations.
// The same names and register layouts in every supported Go version.
inline constexpr HookSpec kHooks[] = {
    {HA_PROBE_REFILL, "runtime.(*mcache).refill", true},
    {HA_PROBE_RELEASE_ALL, "runtime.(*mcache).releaseAll", true},
    {HA_PROBE_ALLOC_LARGE, "runtime.(*mcache).allocLarge", true},
};

struct PlannedProbe {
  ha_probe probe;
  std::string symbol;
  uint64_t function_address = 0;
  uint64_t function_file_offset = 0;
  Site site;
  uint64_t attach_offset = 0;  // file offset of the probed instruction

  uint8_t cookie_flags() const { return site.drop_taken_branch ? HA_SITE_STACK_CHECK_BRANCH : 0; }
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
