#include <cstdio>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include "exporter/metrics.h"
#include "support/env.h"

namespace hotalloc::exporter {
namespace {

// Span class of size class SC: scan spans are even, noscan odd.
constexpr int scan(int sc) { return sc * 2; }
constexpr int noscan(int sc) { return sc * 2 + 1; }

// Two traced targets (one with a name that needs escaping), one that failed,
// two probes, events, drops and socket traffic.
model::Snapshot synthetic_snapshot() {
  model::Snapshot s;
  s.ready = true;

  model::TargetView api;
  api.name = "api";
  api.exe = "/usr/bin/api";
  api.go_version = "go1.26.1";
  api.state = model::TargetState::attached;
  api.processes = {{101, 5000, true}, {102, 5100, true}};
  api.alloc.small_objects[scan(3)] = 100;  // 24 B
  api.alloc.small_objects[noscan(3)] = 50;
  api.alloc.refills[scan(3)] = 1;
  api.alloc.refills[noscan(3)] = 2;
  api.alloc.small_objects[scan(5)] = 10;  // 48 B
  api.alloc.refills[scan(5)] = 1;
  api.alloc.large_objects = 3;
  api.alloc.large_bytes = 3 * 40960;
  api.alloc.tiny_objects = 500;
  s.targets.push_back(api);

  model::TargetView odd;
  odd.name = "odd\"name\\";
  odd.exe = "/opt/odd";
  odd.go_version = "go1.19.13";
  odd.state = model::TargetState::attached;
  odd.processes = {{201, 7000, true}, {202, 7100, false}};
  odd.alloc.small_objects[noscan(67)] = 2;  // 32 KiB
  odd.alloc.refills[noscan(67)] = 2;
  s.targets.push_back(odd);

  model::TargetView broken;
  broken.name = "broken";
  broken.state = model::TargetState::failed;
  broken.error_reason = "no_symbol";
  s.targets.push_back(broken);

  s.probes = {{"refill", 1234, 0, 2, 0.5}, {"large_alloc", 3, 0, 0, 0}};
  s.events = {{"gc_start", 7}, {"map_grow", 2}};
  s.drops = {{"lookup_miss", 0}, {"map_full", 0}, {"ringbuf_full", 4}};
  s.attach_errors = {{"no_symbol", 1}};
  s.socket_requests = {{{"status", "ok"}, 3}, {{"attach", "permission_denied"}, 1}};
  s.daemon.version = "0.1.0";
  s.daemon.revision = "abc123";
  s.daemon.libbpf_version = "1.1";
  return s;
}

std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

TEST(ExporterMetrics, GoldenExposition) {
  const std::string want = R"(# HELP hotalloc_heap_alloc_objects_total Small heap objects allocated, by size class (object size in bytes, scan and noscan spans summed), from the runtime's own span accounting at mcache refill and flush. Aggregates all processes of the target and stays monotonic across their restarts.
# TYPE hotalloc_heap_alloc_objects_total counter
hotalloc_heap_alloc_objects_total{target="api",size_class="24"} 150
hotalloc_heap_alloc_objects_total{target="api",size_class="48"} 10
hotalloc_heap_alloc_objects_total{target="odd\"name\\",size_class="32768"} 2
# HELP hotalloc_heap_alloc_bytes_total Bytes of small heap objects allocated, by size class: objects times the object size, i.e. slot bytes, as in runtime/metrics /gc/heap/allocs-by-size:bytes. Aggregates all processes of the target and stays monotonic across their restarts.
# TYPE hotalloc_heap_alloc_bytes_total counter
hotalloc_heap_alloc_bytes_total{target="api",size_class="24"} 3600
hotalloc_heap_alloc_bytes_total{target="api",size_class="48"} 480
hotalloc_heap_alloc_bytes_total{target="odd\"name\\",size_class="32768"} 65536
# HELP hotalloc_heap_large_alloc_objects_total Heap objects over 32 KiB, each allocated in a span of its own. Aggregates all processes of the target and stays monotonic across their restarts.
# TYPE hotalloc_heap_large_alloc_objects_total counter
hotalloc_heap_large_alloc_objects_total{target="api"} 3
hotalloc_heap_large_alloc_objects_total{target="odd\"name\\"} 0
hotalloc_heap_large_alloc_objects_total{target="broken"} 0
# HELP hotalloc_heap_large_alloc_bytes_total Bytes of heap objects over 32 KiB, rounded up to whole pages as in runtime/metrics. Aggregates all processes of the target and stays monotonic across their restarts.
# TYPE hotalloc_heap_large_alloc_bytes_total counter
hotalloc_heap_large_alloc_bytes_total{target="api"} 122880
hotalloc_heap_large_alloc_bytes_total{target="odd\"name\\"} 0
hotalloc_heap_large_alloc_bytes_total{target="broken"} 0
# HELP hotalloc_heap_tiny_alloc_objects_total Pointer-free objects under 16 bytes that the tiny allocator packed into shared 16-byte blocks; the blocks themselves count in hotalloc_heap_alloc_objects_total. Aggregates all processes of the target and stays monotonic across their restarts.
# TYPE hotalloc_heap_tiny_alloc_objects_total counter
hotalloc_heap_tiny_alloc_objects_total{target="api"} 500
hotalloc_heap_tiny_alloc_objects_total{target="odd\"name\\"} 0
hotalloc_heap_tiny_alloc_objects_total{target="broken"} 0
# HELP hotalloc_span_refills_total Spans taken by an mcache to refill a size class ((*mcache).refill), scan and noscan summed. Aggregates all processes of the target and stays monotonic across their restarts.
# TYPE hotalloc_span_refills_total counter
hotalloc_span_refills_total{target="api",size_class="24"} 3
hotalloc_span_refills_total{target="api",size_class="48"} 1
hotalloc_span_refills_total{target="odd\"name\\",size_class="32768"} 2
# HELP hotalloc_gc_cycles_total Completed GC cycles (runtime.gcMarkTermination calls). Aggregates all processes of the target and stays monotonic across their restarts.
# TYPE hotalloc_gc_cycles_total counter
hotalloc_gc_cycles_total{target="api"} 0
hotalloc_gc_cycles_total{target="odd\"name\\"} 0
hotalloc_gc_cycles_total{target="broken"} 0
# HELP hotalloc_target_info One series per live traced process, always 1; the only metric with a pid label, join on target. In Kubernetes also namespace, pod and container.
# TYPE hotalloc_target_info gauge
hotalloc_target_info{target="api",pid="101",exe="/usr/bin/api",go_version="go1.26.1"} 1
hotalloc_target_info{target="api",pid="102",exe="/usr/bin/api",go_version="go1.26.1"} 1
hotalloc_target_info{target="odd\"name\\",pid="201",exe="/opt/odd",go_version="go1.19.13"} 1
# HELP hotalloc_targets Targets by state: attached (probes in place) or failed (see the daemon's log).
# TYPE hotalloc_targets gauge
hotalloc_targets{state="attached"} 2
hotalloc_targets{state="failed"} 1
# HELP hotalloc_target_attach_errors_total Failed attempts to attach to a target, by reason (a bounded set).
# TYPE hotalloc_target_attach_errors_total counter
hotalloc_target_attach_errors_total{reason="no_symbol"} 1
# HELP hotalloc_probe_attached 1 when the probe is attached in at least one traced binary, else 0.
# TYPE hotalloc_probe_attached gauge
hotalloc_probe_attached{probe="refill"} 1
hotalloc_probe_attached{probe="large_alloc"} 0
# HELP hotalloc_probe_hits_total Probe hits over all targets, as counted in the kernel by hotalloc's BPF programs.
# TYPE hotalloc_probe_hits_total counter
hotalloc_probe_hits_total{probe="refill"} 1234
hotalloc_probe_hits_total{probe="large_alloc"} 3
# HELP hotalloc_bpf_prog_run_seconds_total Kernel CPU time spent in the probe's BPF programs; grows only while kernel BPF statistics are enabled.
# TYPE hotalloc_bpf_prog_run_seconds_total counter
hotalloc_bpf_prog_run_seconds_total{probe="refill"} 0.5
hotalloc_bpf_prog_run_seconds_total{probe="large_alloc"} 0
# HELP hotalloc_events_total Ring-buffer events handled by the daemon, by kind.
# TYPE hotalloc_events_total counter
hotalloc_events_total{kind="gc_start"} 7
hotalloc_events_total{kind="map_grow"} 2
# HELP hotalloc_events_dropped_total Events and counter updates lost before the daemon saw them, by reason.
# TYPE hotalloc_events_dropped_total counter
hotalloc_events_dropped_total{reason="lookup_miss"} 0
hotalloc_events_dropped_total{reason="map_full"} 0
hotalloc_events_dropped_total{reason="ringbuf_full"} 4
# HELP hotalloc_socket_requests_total Requests answered on the local query socket, by method and result code (ok or the error code).
# TYPE hotalloc_socket_requests_total counter
hotalloc_socket_requests_total{method="attach",code="permission_denied"} 1
hotalloc_socket_requests_total{method="status",code="ok"} 3
# HELP hotalloc_build_info The running hotallocd's build, always 1.
# TYPE hotalloc_build_info gauge
hotalloc_build_info{version="0.1.0",revision="abc123",libbpf_version="1.1"} 1
)";
  EXPECT_EQ(serialize(build_families(synthetic_snapshot())), want);
}

TEST(ExporterMetrics, LabelValuesAreEscaped) {
  model::Snapshot s;
  model::TargetView t;
  t.name = "a\"b\\c\nd";
  t.exe = "/tmp/x\\y";
  t.processes = {{1, 1, true}};
  s.targets.push_back(t);
  const std::string text = serialize(build_families(s));
  EXPECT_NE(text.find(R"(hotalloc_heap_tiny_alloc_objects_total{target="a\"b\\c\nd"} 0)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(hotalloc_target_info{target="a\"b\\c\nd",pid="1",exe="/tmp/x\\y",go_version=""} 1)"),
            std::string::npos)
      << text;
}

// The serializer writes HELP verbatim, so a help text must not need escaping.
TEST(ExporterMetrics, NamesAreValidAndHelpNeedsNoEscaping) {
  auto families = build_families(synthetic_snapshot());
  ASSERT_EQ(families.size(), 17u);
  std::set<std::string> names;
  for (const auto& f : families) {
    EXPECT_TRUE(prometheus::CheckMetricName(f.name)) << f.name;
    EXPECT_TRUE(f.name.starts_with("hotalloc_")) << f.name;
    EXPECT_EQ(f.type == prometheus::MetricType::Counter, f.name.ends_with("_total")) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_EQ(f.help.find_first_of("\\\n"), std::string::npos) << f.name;
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate family " << f.name;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) EXPECT_TRUE(prometheus::CheckLabelName(l.name)) << f.name << " " << l.name;
    }
  }
}

TEST(ExporterMetrics, TargetsWithOneNameShareTheirSeries) {
  model::Snapshot s;
  model::TargetView a;
  a.name = "api";
  a.alloc.small_objects[scan(1)] = 5;
  a.alloc.tiny_objects = 1;
  a.alloc.gc_cycles = 3;
  a.processes = {{10, 1, true}};
  model::TargetView b = a;
  b.alloc.small_objects[noscan(1)] = 7;
  b.alloc.gc_cycles = 4;
  b.processes = {{10, 1, true}, {11, 1, true}};
  s.targets = {a, b};
  const std::string text = serialize(build_families(s));
  EXPECT_NE(text.find("hotalloc_target_info{target=\"api\",pid=\"10\",exe=\"\",go_version=\"\"} 1\n"
                      "hotalloc_target_info{target=\"api\",pid=\"11\",exe=\"\",go_version=\"\"} 1\n#"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hotalloc_heap_alloc_objects_total{target=\"api\",size_class=\"8\"} 17\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("hotalloc_heap_tiny_alloc_objects_total{target=\"api\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hotalloc_gc_cycles_total{target=\"api\"} 7\n#"), std::string::npos) << text;
}

// With no targets and nothing counted, families without series are left out
// but both target states are still there, at 0.
TEST(ExporterMetrics, EmptySnapshot) {
  const std::string text = serialize(build_families(model::Snapshot{}));
  EXPECT_EQ(text.find("hotalloc_heap_alloc_objects_total"), std::string::npos) << text;
  EXPECT_NE(text.find("hotalloc_targets{state=\"attached\"} 0\nhotalloc_targets{state=\"failed\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hotalloc_build_info{"), std::string::npos) << text;
}

TEST(ExporterMetrics, ExpositionEndsWithProcessFamilies) {
  const std::string text = exposition_text(synthetic_snapshot());
  EXPECT_TRUE(text.starts_with("# HELP hotalloc_heap_alloc_objects_total ")) << text;
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_start_time_seconds", "process_open_fds", "process_max_fds"}) {
    EXPECT_NE(text.find(fmt::format("\n# TYPE {} ", name)), std::string::npos) << name;
  }
}

TEST(ExporterMetrics, PromtoolAcceptsTheExposition) {
  auto tree = testing::fetched_tree("prometheus", {"prometheus/bookworm"});
  HOTALLOC_REQUIRE(tree.has_value(), "promtool unavailable: " + (tree ? std::string() : tree.error().message));
  const std::string promtool = *tree + "/usr/bin/promtool";

  const std::string path = testing::build_dir() + "/exporter_promtool_input.txt";
  std::ofstream(path) << exposition_text(synthetic_snapshot());
  // promtool exits 3 on lint problems; capture them with the exit code.
  auto out = testing::run_capture(fmt::format("'{}' check metrics < '{}' 2>&1; echo \"exit=$?\"", promtool, path));
  std::remove(path.c_str());
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(*out, "exit=0\n");
}

}  // namespace
}  // namespace hotalloc::exporter
