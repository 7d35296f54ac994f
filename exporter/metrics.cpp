#include "exporter/metrics.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <string_view>
#include <utility>

#include <prometheus/text_serializer.h>

#include "exporter/family.h"
#include "exporter/map_metrics.h"
#include "exporter/process_metrics.h"
#include "exporter/site_metrics.h"
#include "exporter/slice_metrics.h"

namespace hotalloc::exporter {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

struct NamedCounts {
  std::string_view name;
  model::AllocCounts alloc;
};

// Series are keyed by target name. Two views with one name (one binary asked
// for twice) would otherwise yield duplicate series, of which Prometheus keeps
// only the first and counts the rest as errors.
std::vector<NamedCounts> counts_by_name(const std::vector<model::TargetView>& targets) {
  std::vector<NamedCounts> out;
  for (const auto& t : targets) {
    auto it = std::ranges::find(out, std::string_view(t.name), &NamedCounts::name);
    if (it == out.end()) {
      out.push_back({t.name, t.alloc});
    } else {
      it->alloc += t.alloc;
    }
  }
  return out;
}

MetricFamily by_one_label(std::string name, std::string help, MetricType type, const std::string& label,
                          const std::map<std::string, uint64_t>& values) {
  MetricFamily f = make_family(std::move(name), std::move(help), type);
  for (const auto& [value, n] : values) add_sample(f, static_cast<double>(n), {{label, value}});
  return f;
}

void add_allocation_families(const model::Snapshot& snap, std::vector<MetricFamily>& out) {
  MetricFamily objects = target_counter(
      "hotalloc_heap_alloc_objects_total",
      "Small heap objects allocated, by size class (object size in bytes, scan and noscan spans summed), from the "
      "runtime's own span accounting at mcache refill and flush.");
  MetricFamily bytes = target_counter(
      "hotalloc_heap_alloc_bytes_total",
      "Bytes of small heap objects allocated, by size class: objects times the object size, i.e. slot bytes, as in "
      "runtime/metrics /gc/heap/allocs-by-size:bytes.");
  MetricFamily large_objects = target_counter("hotalloc_heap_large_alloc_objects_total",
                                              "Heap objects over 32 KiB, each allocated in a span of its own.");
  MetricFamily large_bytes = target_counter(
      "hotalloc_heap_large_alloc_bytes_total",
      "Bytes of heap objects over 32 KiB, rounded up to whole pages as in runtime/metrics.");
  MetricFamily tiny = target_counter(
      "hotalloc_heap_tiny_alloc_objects_total",
      "Pointer-free objects under 16 bytes that the tiny allocator packed into shared 16-byte blocks; the blocks "
      "themselves count in hotalloc_heap_alloc_objects_total.");
  MetricFamily refills = target_counter(
      "hotalloc_span_refills_total",
      "Spans taken by an mcache to refill a size class ((*mcache).refill), scan and noscan summed.");
  MetricFamily gc =
      target_counter("hotalloc_gc_cycles_total", "Completed GC cycles (runtime.gcMarkTermination calls).");

  for (const auto& t : counts_by_name(snap.targets)) {
    const std::string target(t.name);
    for (const auto& row : model::size_class_rows(t.alloc)) {
      Labels labels{{"target", target}, {"size_class", std::to_string(row.object_size)}};
      add_sample(objects, static_cast<double>(row.objects), labels);
      add_sample(bytes, static_cast<double>(row.bytes), labels);
      add_sample(refills, static_cast<double>(row.refills), std::move(labels));
    }
    add_sample(large_objects, static_cast<double>(t.alloc.large_objects), {{"target", target}});
    add_sample(large_bytes, static_cast<double>(t.alloc.large_bytes), {{"target", target}});
    add_sample(tiny, static_cast<double>(t.alloc.tiny_objects), {{"target", target}});
    add_sample(gc, static_cast<double>(t.alloc.gc_cycles), {{"target", target}});
  }
  // GC cycles last: the exposition lists them before the map families, as it always has.
  for (auto* f : {&objects, &bytes, &large_objects, &large_bytes, &tiny, &refills, &gc}) out.push_back(std::move(*f));
}

void add_target_families(const model::Snapshot& snap, std::vector<MetricFamily>& out) {
  MetricFamily info = make_family(
      "hotalloc_target_info",
      "One series per live traced process, always 1; the only metric with a pid label, join on target. In "
      "Kubernetes also namespace, pod and container.",
      MetricType::Gauge);
  uint64_t attached = 0;
  uint64_t failed = 0;
  // A process two views of one name both cover is one series, as in counts_by_name.
  std::set<std::pair<std::string_view, int>> seen;
  for (const auto& t : snap.targets) {
    if (t.state == model::TargetState::attached) attached++;
    if (t.state == model::TargetState::failed) failed++;
    for (const auto& p : t.processes) {
      if (!p.alive || !seen.emplace(t.name, p.pid).second) continue;
      Labels labels{{"target", t.name}, {"pid", std::to_string(p.pid)}, {"exe", t.exe}, {"go_version", t.go_version}};
      if (!p.workload.pod.empty()) {
        labels.push_back({"namespace", p.workload.namespace_name});
        labels.push_back({"pod", p.workload.pod});
        labels.push_back({"container", p.workload.container});
      }
      add_sample(info, 1, std::move(labels));
    }
  }
  out.push_back(std::move(info));

  // Both states always, so that an alert on failed targets sees 0, not absence.
  MetricFamily states = make_family(
      "hotalloc_targets", "Targets by state: attached (probes in place) or failed (see the daemon's log).",
      MetricType::Gauge);
  add_sample(states, static_cast<double>(attached), {{"state", "attached"}});
  add_sample(states, static_cast<double>(failed), {{"state", "failed"}});
  out.push_back(std::move(states));

  out.push_back(by_one_label("hotalloc_target_attach_errors_total",
                             "Failed attempts to attach to a target, by reason (a bounded set).",
                             MetricType::Counter, "reason", snap.attach_errors));
}

void add_probe_families(const model::Snapshot& snap, std::vector<MetricFamily>& out) {
  MetricFamily attached = make_family(
      "hotalloc_probe_attached", "1 when the probe is attached in at least one traced binary, else 0.",
      MetricType::Gauge);
  MetricFamily hits = make_family("hotalloc_probe_hits_total",
                                  "Probe hits over all targets, as counted in the kernel by hotalloc's BPF programs.",
                                  MetricType::Counter);
  MetricFamily run = make_family(
      "hotalloc_bpf_prog_run_seconds_total",
      "Kernel CPU time spent in the probe's BPF programs; grows only while kernel BPF statistics are enabled.",
      MetricType::Counter);
  for (const auto& p : snap.probes) {
    add_sample(attached, p.attached > 0 ? 1 : 0, {{"probe", p.probe}});
    add_sample(hits, static_cast<double>(p.hits), {{"probe", p.probe}});
    add_sample(run, p.run_seconds, {{"probe", p.probe}});
  }
  out.push_back(std::move(attached));
  out.push_back(std::move(hits));
  out.push_back(std::move(run));
}

void add_daemon_families(const model::Snapshot& snap, std::vector<MetricFamily>& out) {
  out.push_back(by_one_label("hotalloc_events_total", "Ring-buffer events handled by the daemon, by kind.",
                             MetricType::Counter, "kind", snap.events));
  out.push_back(by_one_label("hotalloc_events_dropped_total",
                             "Events and counter updates lost before the daemon saw them, by reason.",
                             MetricType::Counter, "reason", snap.drops));

  MetricFamily requests = make_family(
      "hotalloc_socket_requests_total",
      "Requests answered on the local query socket, by method and result code (ok or the error code).",
      MetricType::Counter);
  for (const auto& [key, n] : snap.socket_requests) {
    add_sample(requests, static_cast<double>(n), {{"method", key.first}, {"code", key.second}});
  }
  out.push_back(std::move(requests));

  MetricFamily build = make_family("hotalloc_build_info", "The running hotallocd's build, always 1.", MetricType::Gauge);
  add_sample(build, 1,
             {{"version", snap.daemon.version},
              {"revision", snap.daemon.revision},
              {"libbpf_version", snap.daemon.libbpf_version}});
  out.push_back(std::move(build));
}

}  // namespace

std::vector<MetricFamily> build_families(const model::Snapshot& snap) {
  std::vector<MetricFamily> out;
  add_allocation_families(snap, out);
  add_map_families(snap, out);
  add_slice_families(snap, out);
  add_heap_profile_families(snap, out);
  add_target_families(snap, out);
  add_probe_families(snap, out);
  add_daemon_families(snap, out);
  std::erase_if(out, [](const MetricFamily& f) { return f.metric.empty(); });
  return out;
}

std::string exposition_text(const model::Snapshot& snap, const std::string& proc_root) {
  std::vector<MetricFamily> families = build_families(snap);
  std::ranges::move(process_families(proc_root), std::back_inserter(families));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace hotalloc::exporter
