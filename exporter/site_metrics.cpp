#include "exporter/site_metrics.h"

#include <map>

#include "exporter/family.h"
#include "heapprof/heap_profile.h"
#include "heapprof/profile_state.h"

namespace hotalloc::exporter {

using prometheus::MetricFamily;
using prometheus::MetricType;

void add_heap_profile_families(const model::Snapshot& snap, std::vector<MetricFamily>& out) {
  MetricFamily bytes = make_family(
      "hotalloc_heap_live_sampled_bytes",
      "Live heap bytes as of the target's last completed GC, estimated from the Go runtime's sampled heap profile "
      "and unbiased as pprof does (inuse_space); sums the target's live processes.",
      MetricType::Gauge);
  MetricFamily objects = make_family(
      "hotalloc_heap_live_sampled_objects",
      "Live heap objects as of the target's last completed GC, estimated from the runtime's sampled heap profile "
      "(inuse_objects).",
      MetricType::Gauge);
  MetricFamily rate = make_family(
      "hotalloc_heap_profile_rate_bytes",
      "runtime.MemProfileRate of the target (the lowest among its processes): one allocation sampled per this many "
      "bytes. 0: the target samples nothing, so it has no sites and no heap profile (see hotallocctl sites).",
      MetricType::Gauge);

  // Series are keyed by target name; views that share one are summed.
  std::map<std::string, std::vector<heapprof::ProcessHeapPtr>> by_name;
  for (const auto& t : snap.targets) {
    auto& heaps = by_name[t.name];
    heaps.insert(heaps.end(), t.heap.begin(), t.heap.end());
  }
  for (const auto& [name, heaps] : by_name) {
    heapprof::ProfileState state = heapprof::profile_state(heaps);
    if (state.rate < 0) continue;  // no process read: nothing to say
    Labels labels{{"target", name}};
    add_sample(rate, static_cast<double>(state.rate), labels);
    if (state.sampling.empty()) continue;
    auto totals = heapprof::scaled_totals(state.sampling);
    add_sample(bytes, static_cast<double>(totals[heapprof::kInuseSpace]), labels);
    add_sample(objects, static_cast<double>(totals[heapprof::kInuseObjects]), std::move(labels));
  }
  for (auto* f : {&bytes, &objects, &rate}) out.push_back(std::move(*f));
}

}  // namespace hotalloc::exporter
