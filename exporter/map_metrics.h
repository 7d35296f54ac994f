// The Go-map families of a snapshot: growths by kind, evacuated buckets,
// growth refills and bytes, inserts and hot-key inserts per creation site
// (the model keeps their label sets bounded and sticky).
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

#include "model/snapshot.h"

namespace hotalloc::exporter {

void add_map_families(const model::Snapshot& snap, std::vector<prometheus::MetricFamily>& out);

}  // namespace hotalloc::exporter
