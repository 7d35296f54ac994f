// The heap-profile families: live heap estimated from each target's sampled
// profile, and the sampling rate, 0 saying that a target samples nothing.
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

#include "model/snapshot.h"

namespace hotalloc::exporter {

void add_heap_profile_families(const model::Snapshot& snap, std::vector<prometheus::MetricFamily>& out);

}  // namespace hotalloc::exporter
