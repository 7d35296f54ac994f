// hotalloc's per-size-class counts against the Go runtime's own
// runtime/metrics, for the same phase of a real program, on several Go
// versions, normal and stripped builds.
//
// The program (tests/targets/sizes) stops at two quiescent points: each time
// runtime.GC() has just flushed every mcache and the runtime's counters were
// read. hotalloc counts at the same events (span refills and mcache flushes),
// so its deltas between those points must agree with the runtime's.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/alloc_counts.h"
#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SizeClassAccuracy : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(SizeClassAccuracy, MatchesRuntimeMetrics) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto [version, mode] = GetParam();
  auto bin = go_target("sizes", version, mode);
  ASSERT_TRUE(bin) << bin.error().message;

  auto prog = ChildProcess::spawn({*bin});
  ASSERT_TRUE(prog) << prog.error().message;
  auto hello = prog->read_line(10s);
  ASSERT_TRUE(hello && hello->starts_with("ready ")) << "the test program did not start";

  auto daemon = DaemonHarness::start({"--pid", std::to_string(prog->pid())});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  auto attached = d.wait_for("targets", json::object(), [](const json& r) {
    return !r.at("targets").empty() && r["targets"][0].at("state") == "attached";
  }, 10s);
  ASSERT_TRUE(attached) << attached.error().message << "\n" << d.log();
  std::string name = (*attached)["targets"][0].at("name");

  // Placement: every probe sits on an instruction the kernel emulates.
  auto status = d.call("status");
  ASSERT_TRUE(status) << status.error().message;
  for (const auto& t : status->at("targets"))
    for (const auto& p : t.at("probes")) {
      EXPECT_TRUE(p.at("attached").get<bool>()) << p.dump();
      EXPECT_TRUE(p.at("emulated").get<bool>()) << "probe not on an emulated instruction: " << p.dump();
    }

  ASSERT_TRUE(prog->write_line("mark"));
  ASSERT_TRUE(prog->read_line(30s).value_or("").starts_with("marked "));
  auto before = d.call("sizeclasses", {{"target", name}});
  ASSERT_TRUE(before) << before.error().message;

  ASSERT_TRUE(prog->write_line("phase"));
  auto line = prog->read_line(60s);
  ASSERT_TRUE(line) << "the test program did not report its phase";
  AllocTotals runtime = from_runtime(json::parse(*line));
  auto after = d.call("sizeclasses", {{"target", name}});
  ASSERT_TRUE(after) << after.error().message;

  AllocTotals got = from_hotalloc(*after, name) - from_hotalloc(*before, name);

  int checked = 0;
  for (const auto& [size, want] : runtime.by_size) {
    if (want < 1000) continue;
    checked++;
    EXPECT_LE(relative_error(got.by_size[size], want), 0.01)
        << "size class " << size << ": hotalloc " << got.by_size[size] << ", runtime " << want;
  }
  EXPECT_GE(checked, 10) << "the workload should exercise at least 10 size classes with >= 1000 objects";
  EXPECT_LE(relative_error(got.objects, runtime.objects), 0.005) << "objects: hotalloc " << got.objects << ", runtime " << runtime.objects;
  EXPECT_LE(relative_error(got.bytes, runtime.bytes), 0.005) << "bytes: hotalloc " << got.bytes << ", runtime " << runtime.bytes;
  EXPECT_LE(relative_error(got.tiny, runtime.tiny), 0.01) << "tiny: hotalloc " << got.tiny << ", runtime " << runtime.tiny;
  EXPECT_EQ(got.large, runtime.large);

  prog->write_line("quit");
}

std::vector<std::tuple<std::string, std::string>> cases() {
  std::vector<std::tuple<std::string, std::string>> out;
  for (const auto& v : go_versions())
    for (const char* mode : {"default", "stripped"}) out.emplace_back(v, mode);
  return out;
}

INSTANTIATE_TEST_SUITE_P(GoVersions, SizeClassAccuracy, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           std::string v = std::get<0>(info.param);
                           std::replace(v.begin(), v.end(), '.', '_');
                           return "go" + v + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace hotalloc::testing
