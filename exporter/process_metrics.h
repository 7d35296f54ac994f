// The standard process_* metrics for the daemon itself. prometheus-cpp has no
// process collector, so they are read from procfs at scrape time, with the
// meanings every other exporter gives them.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace hotalloc::exporter {

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_start_time_seconds (from
// PROC_ROOT/self/stat and the boot time in PROC_ROOT/stat), process_open_fds
// (PROC_ROOT/self/fd) and process_max_fds (PROC_ROOT/self/limits). A source
// that cannot be read leaves its families out rather than failing the scrape.
std::vector<prometheus::MetricFamily> process_families(const std::string& proc_root = "/proc");

}  // namespace hotalloc::exporter
