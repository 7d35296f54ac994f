// The Prometheus view of one model snapshot, built at scrape time: nothing
// here counts events, it only names what the model already holds. The names,
// labels and meanings are the table in DESIGN.md.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "model/snapshot.h"

namespace hotalloc::exporter {

// The hotalloc_* families of SNAP in a fixed order. Families with no series
// are left out, except where an absent series would mislead (hotalloc_targets
// has both states, drops export every reason the model reports, even at 0).
std::vector<prometheus::MetricFamily> build_families(const model::Snapshot& snap);

// The whole exposition of one scrape in text format 0.0.4: SNAP's families,
// then this process's standard process_* families read from PROC_ROOT.
std::string exposition_text(const model::Snapshot& snap, const std::string& proc_root = "/proc");

}  // namespace hotalloc::exporter
