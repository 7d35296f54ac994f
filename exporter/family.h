// Small builders for prometheus-cpp's data model, shared by the families of
// the snapshot and those of the process itself.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "model/snapshot.h"

namespace hotalloc::exporter {

using Labels = std::vector<prometheus::ClientMetric::Label>;

inline prometheus::MetricFamily make_family(std::string name, std::string help, prometheus::MetricType type) {
  return prometheus::MetricFamily{std::move(name), std::move(help), type, {}};
}

// Appends one series; the value goes where F's type says the serializer reads it.
inline void add_sample(prometheus::MetricFamily& f, double value, Labels labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

// Ends the help of every per-target counter: what they all share.
inline constexpr std::string_view kTargetCounterHelp =
    " Aggregates all processes of the target and stays monotonic across their restarts.";

// A counter with target (and maybe more) labels; `what` is its own help.
inline prometheus::MetricFamily target_counter(std::string name, std::string_view what) {
  return make_family(std::move(name), std::string(what).append(kTargetCounterHelp), prometheus::MetricType::Counter);
}

// Each target id's name. Targets that share a name share their series.
inline std::map<uint32_t, std::string> target_names(const model::Snapshot& snap) {
  std::map<uint32_t, std::string> names;
  for (const auto& t : snap.targets) names[t.id] = t.name;
  return names;
}

}  // namespace hotalloc::exporter
