#include "exporter/map_metrics.h"

#include <map>
#include <string>
#include <tuple>

#include "exporter/family.h"

namespace hotalloc::exporter {

using prometheus::MetricFamily;

void add_map_families(const model::Snapshot& snap, std::vector<MetricFamily>& out) {
  if (!snap.maps) return;

  // Targets that share a name share their series, as in the allocation families.
  const std::map<uint32_t, std::string> names = target_names(snap);
  std::map<std::pair<std::string, std::string>, model::SiteTotals> sites;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> keys;
  for (const auto& [id, tm] : snap.maps->targets) {
    auto name = names.find(id);
    if (name == names.end()) continue;
    for (const auto& [site, s] : tm.sites) sites[{name->second, site}] += s;
    for (const auto& k : tm.hot_keys) keys[{name->second, k.map, k.key}] += k.inserts;
  }

  MetricFamily growths = target_counter(
      "hotalloc_map_growths_total",
      "Map growths by creation site (map=\"file.go:LINE\", top sites plus \"other\") and kind: grow and same_size "
      "(classic hashGrow), to_small, to_table, table_grow and split (swiss growToSmall, growToTable, (*table).grow "
      "and split).");
  MetricFamily evacuated = target_counter("hotalloc_map_evacuated_buckets_total",
                                          "Old buckets moved to the new bucket array by classic map growth.");
  MetricFamily refills = target_counter("hotalloc_map_growth_refills_total",
                                        "mcache span refills made by the goroutine while it ran a map's growth work.");
  MetricFamily bytes = target_counter("hotalloc_map_growth_bytes_total",
                                      "Bytes of bucket and group arrays allocated by map growth work.");
  MetricFamily inserts = target_counter("hotalloc_map_inserts_total",
                                        "Map inserts (runtime.mapassign*) counted while insert probes were on.");
  for (const auto& [key, s] : sites) {
    const auto& [target, site] = key;
    for (size_t k = 0; k < model::kGrowthKinds; k++)
      if (s.growths[k])
        add_sample(growths, static_cast<double>(s.growths[k]),
                   {{"target", target}, {"map", site}, {"kind", model::growth_kind_name(k)}});
    Labels labels{{"target", target}, {"map", site}};
    if (s.evacuated_buckets) add_sample(evacuated, static_cast<double>(s.evacuated_buckets), labels);
    add_sample(refills, static_cast<double>(s.growth_refills), labels);
    add_sample(bytes, static_cast<double>(s.growth_bytes), labels);
    if (s.inserts) add_sample(inserts, static_cast<double>(s.inserts), labels);
  }
  MetricFamily hot = target_counter(
      "hotalloc_map_hot_key_inserts_total",
      "Inserts of the hottest keys of the busiest maps (--metrics.hot-keys per map, --metrics.hot-maps maps), the "
      "rest in key=\"__other__\"; keys cut to 32 printable bytes, or h:<hash> with --metrics.hot-keys.redact. A key's "
      "series counts from when it got one.");
  for (const auto& [key, n] : keys) {
    const auto& [target, map, k] = key;
    add_sample(hot, static_cast<double>(n), {{"target", target}, {"map", map}, {"key", k}});
  }
  for (auto* f : {&growths, &evacuated, &refills, &bytes, &inserts, &hot}) out.push_back(std::move(*f));
}

}  // namespace hotalloc::exporter
