// Small builders for prometheus-cpp's data model, shared by the families of
// the snapshot and those of the process itself.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

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

}  // namespace hotalloc::exporter
