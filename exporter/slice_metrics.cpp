#include "exporter/slice_metrics.h"

#include <map>
#include <string>

#include "exporter/family.h"

namespace hotalloc::exporter {

using prometheus::MetricFamily;

void add_slice_families(const model::Snapshot& snap, std::vector<MetricFamily>& out) {
  if (!snap.slices) return;
  // Targets that share a name share their series, as in the other families.
  const std::map<uint32_t, std::string> names = target_names(snap);
  std::map<std::pair<std::string, std::string>, model::SliceSeries> series;
  for (const auto& [id, ts] : snap.slices->targets) {
    auto name = names.find(id);
    if (name == names.end()) continue;
    for (const auto& [site, s] : ts.series) {
      model::SliceSeries& to = series[{name->second, site}];
      to.growths += s.growths;
      to.bytes += s.bytes;
    }
  }
  constexpr const char* kWhen =
      " Counted while the insert-probe tier is on (--map-inserts); site=\"file.go:LINE\" of the append, the busiest "
      "sites plus \"other\".";
  MetricFamily growths = target_counter("hotalloc_slice_growths_total",
                                        std::string("Slice growths (runtime.growslice calls) by append site.") + kWhen);
  MetricFamily bytes = target_counter(
      "hotalloc_slice_growth_bytes_total",
      std::string("Bytes of the backing arrays slice growth allocated (new capacity x element size).") + kWhen);
  for (const auto& [key, s] : series) {
    Labels labels{{"target", key.first}, {"site", key.second}};
    add_sample(growths, static_cast<double>(s.growths), labels);
    add_sample(bytes, static_cast<double>(s.bytes), labels);
  }
  out.push_back(std::move(growths));
  out.push_back(std::move(bytes));
}

}  // namespace hotalloc::exporter
