// The slice-growth families of a snapshot: runtime.growslice calls and the
// bytes of the arrays they allocated, per append call site (the model keeps
// the label set bounded and sticky: the busiest sites plus "other").
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

#include "model/snapshot.h"

namespace hotalloc::exporter {

void add_slice_families(const model::Snapshot& snap, std::vector<prometheus::MetricFamily>& out);

}  // namespace hotalloc::exporter
