// Faults around the tracer must never hurt the traced program: a daemon
// killed with SIGKILL mid-trace leaves its targets computing exactly what
// they compute untraced, a restarted daemon attaches again, and a thousand
// short-lived processes leave no leaked fds, memory or kernel map slots.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"
#include "support/go_matrix.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

uint64_t objects_of(const json& sizeclasses) {
  uint64_t n = 0;
  for (const auto& t : sizeclasses.at("targets")) n += t.at("totals").at("objects").get<uint64_t>();
  return n;
}

class Faults : public ::testing::TestWithParam<std::string> {};

TEST_P(Faults, KilledDaemonLeavesTargetsIntactAndARestartedOneAttachesAgain) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto bin = go_target("checksum", GetParam());
  ASSERT_TRUE(bin) << bin.error().message;
  const std::string rounds = "3000";
  auto expected = run_capture(*bin + " " + rounds);
  ASSERT_TRUE(expected) << expected.error().message;

  ProgramCopies copies("faults");
  const std::string copy = copies.add(*bin, "checksum");
  for (int attempt = 0; attempt < 2; attempt++) {
    auto daemon = DaemonHarness::start({"--exe", copy});
    ASSERT_TRUE(daemon) << daemon.error().message;
    auto& d = **daemon;
    auto prog = ChildProcess::spawn({copy, rounds}, {false, true, ""});
    ASSERT_TRUE(prog);
    auto counting = d.wait_for("sizeclasses", json::object(),
                               [](const json& r) { return objects_of(r) > 10000; }, 20s);
    ASSERT_TRUE(counting) << counting.error().message << "\n" << d.log();
    ASSERT_TRUE(prog->running()) << "the workload should still be running when the daemon dies";

    // SIGKILL: no cleanup code runs; the kernel drops the probes with the fds.
    d.process().stop(SIGKILL, 5s);
    auto digest = prog->read_line(60s);
    ASSERT_TRUE(digest) << "the traced program produced no result";
    EXPECT_EQ(*digest + "\n", *expected) << "tracing changed what the program computed";
    int status = prog->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  }
}

TEST_P(Faults, ThousandShortLivedProcessesLeaveNoLeaks) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto bin = go_target("checksum", GetParam());
  ASSERT_TRUE(bin) << bin.error().message;
  ProgramCopies copies("faults");
  const std::string copy = copies.add(*bin, "shortlived");
  auto daemon = DaemonHarness::start({"--exe", "shortlived=" + copy});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  const int daemon_pid = d.process().pid();

  auto run_batch = [&](int n) {
    for (int i = 0; i < n; i++) {
      auto p = ChildProcess::spawn({copy, "1"}, {false, true, ""});
      ASSERT_TRUE(p);
      p->wait();
    }
  };
  auto settled = [&](uint64_t seen) {
    return d.wait_for("targets", json::object(), [&](const json& r) {
      const auto& t = r.at("targets").at(0);
      return t.at("processes").empty() && t.at("processes_seen").get<uint64_t>() >= seen;
    }, 30s);
  };

  run_batch(20);
  ASSERT_TRUE(settled(20)) << d.log();
  const int fds_before = open_fds(daemon_pid);
  const long rss_before = proc_status_kib(daemon_pid, "RssAnon");

  run_batch(1000);
  auto done = settled(1020);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->at("targets").at(0).at("processes_seen").get<uint64_t>(), 1020u);
  EXPECT_EQ(open_fds(daemon_pid), fds_before) << "the daemon leaked file descriptors";
  // Anonymous memory only: the daemon maps the targets' executables, and the
  // file pages it touches while reading them count in VmRSS without being a leak.
  // Not under ASan (make test-sanitize): see memory_bound_applies.
  if (memory_bound_applies("the daemon's RssAnon growth over 1000 processes")) {
    EXPECT_LT(proc_status_kib(daemon_pid, "RssAnon") - rss_before, 4096) << "the daemon's anonymous memory grew by more than 4 MiB";
  }
  auto status = d.call("status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->at("drops").at("map_full").get<uint64_t>(), 0u);
  EXPECT_TRUE(d.process().running());
}

INSTANTIATE_TEST_SUITE_P(GoVersions, Faults, ::testing::ValuesIn(go_versions()), go_version_name);

}  // namespace
}  // namespace hotalloc::testing
