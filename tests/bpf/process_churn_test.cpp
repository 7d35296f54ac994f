// Faults in the lives of traced processes: one that exec()s becomes the
// program it execs (traced as that target, or dropped), without its counts
// going backwards or to the wrong target; and processes that exit while the
// daemon is attaching to them are neither failures nor leaks.
#include <unistd.h>

#include <iostream>
#include <set>

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

std::set<int> live_pids(const json& targets, const std::string& name) {
  std::set<int> out;
  for (const auto& t : targets.at("targets"))
    if (t.at("name") == name)
      for (const auto& p : t.at("processes")) out.insert(p.at("pid").get<int>());
  return out;
}

uint64_t objects(DaemonHarness& d, const std::string& target) {
  auto sc = d.call("sizeclasses");
  return sc ? from_hotalloc(*sc, target).objects : 0;
}

class ProcessChurn : public ::testing::Test {
 protected:
  void SetUp() override {
    HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
    auto execer = go_target("execer", go_versions().back());
    ASSERT_TRUE(execer) << execer.error().message;
    auto checksum = go_target("checksum", go_versions().back());
    ASSERT_TRUE(checksum) << checksum.error().message;
    execer_ = programs_.add(*execer, "execer");
    checksum_ = programs_.add(*checksum, "checksum");
  }

  ProgramCopies programs_{"churn"};
  std::string execer_, checksum_;
};

// --discover: the exec event ends the old image's tracing (its counts are
// booked to it, and stay) and the new image is traced as its own target.
TEST_F(ProcessChurn, DiscoveredProcessThatExecsIsTracedAsTheNewProgram) {
  auto expected = run_capture(checksum_ + " 2000");
  ASSERT_TRUE(expected) << expected.error().message;
  auto daemon = DaemonHarness::start({"--discover", "--match", "^" + regex_literal(programs_.dir().string()) + "/"});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;

  auto prog = ChildProcess::spawn({execer_, "200000", checksum_, "2000"});
  ASSERT_TRUE(prog);
  const int pid = prog->pid();
  ASSERT_TRUE(prog->read_line(10s).value_or("").starts_with("ready"));
  auto traced = d.wait_for("targets", json::object(), [&](const json& r) { return live_pids(r, "execer").contains(pid); },
                           5s);
  ASSERT_TRUE(traced) << traced.error().message << "\n" << d.log();
  ASSERT_TRUE(prog->write_line("alloc"));
  ASSERT_EQ(prog->read_line(30s).value_or(""), "allocated");
  auto before = d.wait_for("sizeclasses", json::object(),
                           [](const json& r) { return from_hotalloc(r, "execer").objects > 150000; }, 10s);
  ASSERT_TRUE(before) << before.error().message;
  const uint64_t execer_before = from_hotalloc(*before, "execer").objects;

  ASSERT_TRUE(prog->write_line("exec"));
  auto moved = d.wait_for("targets", json::object(), [&](const json& r) {
    return live_pids(r, "checksum").contains(pid) && !live_pids(r, "execer").contains(pid);
  }, 5s);
  ASSERT_TRUE(moved) << moved.error().message << "\n" << d.log();
  EXPECT_EQ(prog->read_line(60s).value_or("") + "\n", *expected) << "tracing changed what the program computed";
  prog->wait();
  auto gone = d.wait_for("targets", json::object(), [&](const json& r) { return live_pids(r, "checksum").empty(); }, 10s);
  ASSERT_TRUE(gone) << gone.error().message;

  // Monotonic, and nothing of the second program was booked to the first:
  // checksum 2000 makes millions of objects, execer's last words a few.
  const uint64_t execer_after = objects(d, "execer"), checksum_objects = objects(d, "checksum");
  EXPECT_GE(execer_after, execer_before);
  EXPECT_LT(execer_after - execer_before, 50000u) << "counts of the exec'd program went to the old target";
  EXPECT_GT(checksum_objects, 1000000u) << "the new image was not counted";
  EXPECT_TRUE(d.process().running());
}

// --exe: a process that execs its own binary again (a graceful restart) stays
// one process of the target; the new image is counted from its start, added to
// what the old one counted.
TEST_F(ProcessChurn, ExeTargetThatReExecsItselfKeepsCountingMonotonically) {
  auto daemon = DaemonHarness::start({"--exe", execer_});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  auto prog = ChildProcess::spawn({execer_, "100000", execer_, "300000"});
  ASSERT_TRUE(prog);
  const int pid = prog->pid();
  ASSERT_TRUE(prog->read_line(10s).value_or("").starts_with("ready"));
  ASSERT_TRUE(prog->write_line("alloc"));
  ASSERT_EQ(prog->read_line(30s).value_or(""), "allocated");
  auto first = d.wait_for("sizeclasses", json::object(),
                          [](const json& r) { return from_hotalloc(r, "execer").objects > 90000; }, 10s);
  ASSERT_TRUE(first) << first.error().message << "\n" << d.log();
  const uint64_t after_first = from_hotalloc(*first, "execer").objects;

  ASSERT_TRUE(prog->write_line("exec"));
  ASSERT_TRUE(prog->read_line(10s).value_or("").starts_with("ready"));
  ASSERT_TRUE(prog->write_line("alloc"));
  ASSERT_EQ(prog->read_line(30s).value_or(""), "allocated");
  auto second = d.wait_for("sizeclasses", json::object(), [&](const json& r) {
    return from_hotalloc(r, "execer").objects > after_first + 290000;
  }, 10s);
  EXPECT_TRUE(second) << "the re-exec'd image was not counted: " << objects(d, "execer") << " after " << after_first;
  auto targets = d.call("targets");
  ASSERT_TRUE(targets);
  EXPECT_EQ(live_pids(*targets, "execer"), std::set<int>{pid});
  ASSERT_TRUE(prog->write_line("quit"));
  EXPECT_EQ(prog->wait(), 0);
  auto done = d.wait_for("targets", json::object(), [](const json& r) { return live_pids(r, "execer").empty(); }, 10s);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_GE(objects(d, "execer"), after_first + 290000) << "counts went backwards at exit";
}

// Processes of a few milliseconds, discovered at exec: most are gone while
// the daemon reads their binary or attaches, which must be neither an attach
// error nor a failed target, and must leave nothing behind.
TEST_F(ProcessChurn, ProcessesExitingDuringAttachAreNeitherErrorsNorLeaks) {
  auto expected = run_capture(checksum_ + " 1");
  ASSERT_TRUE(expected) << expected.error().message;
  auto daemon = DaemonHarness::start({"--discover", "--match", "^" + regex_literal(programs_.dir().string()) + "/", "--log.level=debug"});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  const int fds_before = open_fds(d.process().pid());
  const int n = 300;
  for (int i = 0; i < n; i++) {
    auto p = ChildProcess::spawn({checksum_, "1"});
    ASSERT_TRUE(p);
    ASSERT_EQ(p->read_line(10s).value_or("") + "\n", *expected);
    ASSERT_EQ(p->wait(), 0);
  }
  auto settled = d.wait_for("targets", json::object(), [](const json& r) { return live_pids(r, "checksum").empty(); }, 30s);
  ASSERT_TRUE(settled) << settled.error().message;
  auto status = d.call("status");
  ASSERT_TRUE(status);
  for (const auto& t : status->at("targets"))
    EXPECT_NE(t.at("state"), "failed") << t.dump() << "\n" << d.log();
  auto metrics = d.metrics();
  ASSERT_TRUE(metrics) << metrics.error().message;
  EXPECT_EQ(metrics->find("hotalloc_target_attach_errors_total{"), std::string::npos)
      << "a process that exited during attach was counted as an attach error";
  // The links of exited processes are closed off the event loop, one at a
  // time (tracer/link_closer.h): give the closer its moment.
  int fds_after = fds_before;
  eventually([&] { return (fds_after = open_fds(d.process().pid())) == fds_before; }, 20s);
  EXPECT_EQ(fds_after, fds_before) << "the daemon kept file descriptors (links, pidfds) of exited processes";
  // How often the race this test is about happened (it varies with load).
  const std::string log = d.log();
  size_t raced = 0;
  for (size_t at = 0; (at = log.find("exited while being attached", at)) != std::string::npos; at++) raced++;
  std::cout << raced << " of " << n << " processes exited while being attached\n";
  EXPECT_TRUE(d.process().running());
}

}  // namespace
}  // namespace hotalloc::testing
