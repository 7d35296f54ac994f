// --exe traces every process of a binary, including ones started after the
// daemon, from their first allocation; an exited process's counts stay in
// its target's totals.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/alloc_counts.h"
#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"
#include "support/go_matrix.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

size_t live_processes(const json& targets, const std::string& name) {
  for (const auto& t : targets.at("targets"))
    if (t.at("name") == name) return t.at("processes").size();
  return 0;
}

// Starts a copy of the program, marks it and returns its runtime totals.
AllocTotals run_and_mark(ChildProcess& p) {
  EXPECT_TRUE(p.read_line(10s).value_or("").starts_with("ready "));
  EXPECT_TRUE(p.write_line("mark"));
  std::string line = p.read_line(30s).value_or("");
  EXPECT_TRUE(line.starts_with("marked ")) << line;
  return from_runtime(json::parse(line.substr(7)));
}

class ExeTarget : public ::testing::TestWithParam<std::string> {};

TEST_P(ExeTarget, LaterProcessesCountedFromFirstAllocationAndKeptAfterExit) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto bin = go_target("sizes", GetParam());
  ASSERT_TRUE(bin) << bin.error().message;
  // A private copy: the probes attach to this inode only.
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("hotalloc-exe-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string copy = dir / "svc-binary";
  std::filesystem::copy_file(*bin, copy, std::filesystem::copy_options::overwrite_existing);

  auto daemon = DaemonHarness::start({"--exe", "svc=" + copy});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  auto targets = d.call("targets");
  ASSERT_TRUE(targets) << targets.error().message;
  ASSERT_EQ(targets->at("targets").size(), 1u);
  EXPECT_EQ(targets->at("targets")[0].at("name"), "svc");
  EXPECT_EQ(targets->at("targets")[0].at("state"), "attached");
  EXPECT_EQ(live_processes(*targets, "svc"), 0u);

  // The first process, started after the daemon: every flush it ever made is seen.
  auto first = ChildProcess::spawn({copy});
  ASSERT_TRUE(first);
  AllocTotals runtime1 = run_and_mark(*first);
  auto seen = d.call("sizeclasses", {{"target", "svc"}});
  ASSERT_TRUE(seen) << seen.error().message;
  AllocTotals h1 = from_hotalloc(*seen, "svc");
  EXPECT_LE(relative_error(h1.objects, runtime1.objects), 0.005)
      << "hotalloc " << h1.objects << " vs the runtime's own " << runtime1.objects << " since process start";
  EXPECT_LE(relative_error(h1.bytes, runtime1.bytes), 0.005);
  auto listed = d.call("targets");
  ASSERT_TRUE(listed);
  EXPECT_EQ(live_processes(*listed, "svc"), 1u) << listed->dump();

  // Exit: the process is dropped, its counts stay.
  ASSERT_TRUE(first->write_line("quit"));
  first->stop(SIGTERM, 5s);
  auto gone = d.wait_for("targets", json::object(), [](const json& r) { return live_processes(r, "svc") == 0; }, 10s);
  ASSERT_TRUE(gone) << gone.error().message;
  auto after_exit = d.call("sizeclasses", {{"target", "svc"}});
  ASSERT_TRUE(after_exit);
  AllocTotals h_exit = from_hotalloc(*after_exit, "svc");
  EXPECT_GE(h_exit.objects, h1.objects) << "counts must stay monotonic across the exit";

  // A second process adds to the same target.
  auto second = ChildProcess::spawn({copy});
  ASSERT_TRUE(second);
  AllocTotals runtime2 = run_and_mark(*second);
  auto both = d.call("sizeclasses", {{"target", "svc"}});
  ASSERT_TRUE(both);
  AllocTotals h2 = from_hotalloc(*both, "svc");
  EXPECT_LE(relative_error(h2.objects - h_exit.objects, runtime2.objects), 0.005)
      << "second process: hotalloc " << (h2.objects - h_exit.objects) << " vs runtime " << runtime2.objects;
  second->write_line("quit");
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(GoVersions, ExeTarget, ::testing::ValuesIn(go_versions()), go_version_name);

}  // namespace
}  // namespace hotalloc::testing
