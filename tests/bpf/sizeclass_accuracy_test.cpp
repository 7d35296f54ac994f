// hotalloc's per-size-class counts against the Go runtime's own
// runtime/metrics, for the same phase of a real program, on several Go
// versions, normal and stripped builds.
//
// The program (tests/targets/sizes) stops at two quiescent points: each time
// runtime.GC() has just flushed every mcache and the runtime's counters were
// read. hotalloc counts at the same events (span refills and mcache flushes),
// so its deltas between those points must agree with the runtime's.
#include <unistd.h>

#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Counts {
  std::map<uint64_t, uint64_t> by_size;  // object size -> objects
  uint64_t objects = 0, bytes = 0, tiny = 0, large = 0;
};

Counts from_hotalloc(const json& target) {
  Counts c;
  for (const auto& row : target.at("classes"))
    c.by_size[row.at("object_size").get<uint64_t>()] = row.at("objects").get<uint64_t>();
  c.objects = target.at("totals").at("objects").get<uint64_t>();
  c.bytes = target.at("totals").at("bytes").get<uint64_t>();
  c.tiny = target.at("tiny").at("objects").get<uint64_t>();
  c.large = target.at("large").at("objects").get<uint64_t>();
  return c;
}

Counts from_runtime(const json& d) {
  Counts c;
  for (const auto& [size, n] : d.at("by_size").items()) c.by_size[std::stoull(size)] = n.get<uint64_t>();
  c.objects = d.at("objects").get<uint64_t>();
  c.bytes = d.at("bytes").get<uint64_t>();
  c.tiny = d.at("tiny").get<uint64_t>();
  c.large = d.at("large").get<uint64_t>();
  return c;
}

Counts minus(const Counts& a, const Counts& b) {
  Counts d;
  for (const auto& [size, n] : a.by_size) {
    auto it = b.by_size.find(size);
    d.by_size[size] = n - (it == b.by_size.end() ? 0 : it->second);
  }
  d.objects = a.objects - b.objects;
  d.bytes = a.bytes - b.bytes;
  d.tiny = a.tiny - b.tiny;
  d.large = a.large - b.large;
  return d;
}

double rel(uint64_t got, uint64_t want) {
  return want == 0 ? (got == 0 ? 0 : 1) : std::fabs(double(got) - double(want)) / double(want);
}

const json* find_target(const json& sizeclasses, const std::string& name) {
  for (const auto& t : sizeclasses.at("targets"))
    if (t.at("target") == name) return &t;
  return nullptr;
}

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
  ASSERT_EQ(prog->read_line(30s).value_or(""), "marked");
  auto before = d.call("sizeclasses", {{"target", name}});
  ASSERT_TRUE(before) << before.error().message;

  ASSERT_TRUE(prog->write_line("phase"));
  auto line = prog->read_line(60s);
  ASSERT_TRUE(line) << "the test program did not report its phase";
  Counts runtime = from_runtime(json::parse(*line));
  auto after = d.call("sizeclasses", {{"target", name}});
  ASSERT_TRUE(after) << after.error().message;

  const json* tb = find_target(*before, name);
  const json* ta = find_target(*after, name);
  ASSERT_TRUE(tb && ta) << after->dump();
  Counts got = minus(from_hotalloc(*ta), from_hotalloc(*tb));

  int checked = 0;
  for (const auto& [size, want] : runtime.by_size) {
    if (want < 1000) continue;
    checked++;
    EXPECT_LE(rel(got.by_size[size], want), 0.01)
        << "size class " << size << ": hotalloc " << got.by_size[size] << ", runtime " << want;
  }
  EXPECT_GE(checked, 10) << "the workload should exercise at least 10 size classes with >= 1000 objects";
  EXPECT_LE(rel(got.objects, runtime.objects), 0.005) << "objects: hotalloc " << got.objects << ", runtime " << runtime.objects;
  EXPECT_LE(rel(got.bytes, runtime.bytes), 0.005) << "bytes: hotalloc " << got.bytes << ", runtime " << runtime.bytes;
  EXPECT_LE(rel(got.tiny, runtime.tiny), 0.01) << "tiny: hotalloc " << got.tiny << ", runtime " << runtime.tiny;
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
