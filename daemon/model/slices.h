// The model's view of slice growth: per target, one record per append call
// site (runtime.growslice's caller, symbolized), summed over the target's
// processes and kept when they exit; and the series the metrics export,
// bounded to the busiest sites plus "other". Fed by the collector with the
// kernel's cumulative per-(process, call site) counters.
//
// Counters reach the series at publish, as deltas since the last publish, to
// the series their site has then: every exported series stays monotonic, and
// sites are given series (while there is room) before their first counts
// are routed, so a busy site seen in one collection counts from its start.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bpf/hotalloc.h"
#include "util/hash.h"

namespace hotalloc::model {

struct SliceLimits {
  size_t sites_per_target = 1000;  // records; the ones with fewest growths go first
  size_t site_series = 20;         // per target, besides "other"
};

// What the collector resolved about a call site.
struct SliceIdentity {
  std::string site;      // "main.go:42", the metrics' site label
  std::string file;      // full path as the binary records it
  std::string function;  // the (possibly inlined) function that appends
  std::string elem_type; // "int64", "*main.node"
};

struct SliceSite {
  SliceIdentity identity;
  uint64_t elem_size = 0;
  uint64_t growths = 0;
  uint64_t from_empty = 0;    // growths from capacity 0: slices built up from nothing
  uint64_t copied_bytes = 0;  // old elements moved to the new arrays
  uint64_t alloc_bytes = 0;   // new arrays allocated
  uint64_t allocs = 0;        // growths whose allocation was seen (alloc_bytes covers them)
  uint64_t max_new_len = 0;   // the largest length an append asked for
  uint64_t max_new_cap = 0;   // the largest capacity growslice allocated
};

struct SliceSeries {
  uint64_t growths = 0;
  uint64_t bytes = 0;  // alloc_bytes
};

struct TargetSlices {
  std::vector<SliceSite> sites;              // most growths first
  std::map<std::string, SliceSeries> series; // exported sites and "other"
  uint64_t sites_forgotten = 0;
};

struct SlicesSnapshot {
  std::map<uint32_t, TargetSlices> targets;
  uint64_t kernel_evictions = 0;  // slice_sites entries the kernel evicted
};

class SliceModel {
 public:
  explicit SliceModel(SliceLimits limits = {}) : limits_(limits) {}

  // Whether the kernel entry (pid, pc, caller) is new: its identity needs resolving.
  bool needs_identity(int pid, uint64_t pc, uint64_t caller) const { return !index_.contains({pid, pc, caller}); }
  // The kernel's cumulative counters of one entry (process, return address
  // and the one above it); `identity` is required the first time. Entries
  // with the same site label add up.
  void update(uint32_t target, int pid, uint64_t pc, uint64_t caller, const ha_slice_site& counters,
              const SliceIdentity* identity);
  // The process is gone; what it counted stays in its sites.
  void process_exited(int pid);
  // `n` more slice_sites entries evicted by the kernel.
  void sites_evicted(uint64_t n) { kernel_evictions_ += n; }

  std::shared_ptr<const SlicesSnapshot> publish();

 private:
  struct Source {
    SliceIdentity identity;  // its site label is never empty
    ha_slice_site last{};
  };
  struct Site {
    SliceSite view;
    SliceSeries routed;  // what has reached the series
  };
  struct TargetState {
    std::map<std::string, Site> sites;  // by site label
    std::map<std::string, SliceSeries> series;
    uint64_t sites_forgotten = 0;
  };

  void export_busiest(TargetState& t);
  void route(TargetState& t);
  void bound(TargetState& t);

  SliceLimits limits_;
  std::map<uint32_t, TargetState> targets_;
  std::unordered_map<std::tuple<int, uint64_t, uint64_t>, Source, CompositeHash> index_;  // (pid, pc, caller)
  uint64_t kernel_evictions_ = 0;
};

}  // namespace hotalloc::model
