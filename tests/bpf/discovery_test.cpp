// --discover on a real host: a Go program started after the daemon is
// attached within a second (exec tracepoint), --match leaves others alone,
// its counts agree with the runtime's, an exit drops the process, and the
// target's counters stay monotonic when another process of it comes.
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

const json* find_target(const json& targets, const std::string& name) {
  for (const auto& t : targets.at("targets"))
    if (t.at("name") == name) return &t;
  return nullptr;
}

bool has_live_pid(const json& targets, const std::string& name, int pid) {
  const json* t = find_target(targets, name);
  if (!t) return false;
  for (const auto& p : t->at("processes"))
    if (p.at("pid") == pid) return true;
  return false;
}

TEST(Discovery, NewGoProcessesAreTracedWithinASecondAndFiltered) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto bin = go_target("sizes", go_versions().back());
  ASSERT_TRUE(bin) << bin.error().message;
  ProgramCopies copies("discover");
  const std::string wanted = copies.add(*bin, "hadisc-sizes"), other = copies.add(*bin, "unmatched");

  auto daemon = DaemonHarness::start({"--discover", "--match", "^hadisc-"});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  EXPECT_NE(d.log().find("discovering Go processes matching ^hadisc- (exec tracepoint)"), std::string::npos)
      << d.log();

  auto unmatched = ChildProcess::spawn({other});
  ASSERT_TRUE(unmatched);
  auto started = std::chrono::steady_clock::now();
  auto prog = ChildProcess::spawn({wanted});
  ASSERT_TRUE(prog);
  int pid = prog->pid();
  auto seen = d.wait_for("targets", json::object(), [&](const json& r) { return has_live_pid(r, "hadisc-sizes", pid); },
                         5s);
  ASSERT_TRUE(seen) << seen.error().message << "\n" << d.log();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  EXPECT_LT(took.count(), 1000) << "discovered after " << took.count() << " ms";
  EXPECT_EQ(find_target(*seen, "hadisc-sizes")->at("spec"), "discover");
  EXPECT_EQ(find_target(*seen, "unmatched"), nullptr) << seen->dump();

  // Counted like any target: the runtime's own numbers between two marks.
  ASSERT_TRUE(prog->read_line(10s).value_or("").starts_with("ready"));
  ASSERT_TRUE(prog->write_line("mark"));
  ASSERT_TRUE(prog->read_line(30s));
  auto sc0 = d.call("sizeclasses", {{"target", "hadisc-sizes"}});
  ASSERT_TRUE(sc0) << sc0.error().message;
  ASSERT_TRUE(prog->write_line("phase"));
  std::string phase = prog->read_line(60s).value_or("");
  ASSERT_FALSE(phase.empty());
  AllocTotals runtime = from_runtime(json::parse(phase));
  auto sc1 = d.call("sizeclasses", {{"target", "hadisc-sizes"}});
  ASSERT_TRUE(sc1);
  AllocTotals got = from_hotalloc(*sc1, "hadisc-sizes") - from_hotalloc(*sc0, "hadisc-sizes");
  EXPECT_LE(relative_error(got.objects, runtime.objects), 0.005) << got.objects << " vs " << runtime.objects;

  // Exit: dropped, counts kept; the next process of the target adds to them.
  uint64_t total = from_hotalloc(*sc1, "hadisc-sizes").objects;
  ASSERT_TRUE(prog->write_line("quit"));
  prog->stop(SIGTERM, 5s);
  auto gone = d.wait_for("targets", json::object(), [&](const json& r) { return !has_live_pid(r, "hadisc-sizes", pid); },
                         10s);
  ASSERT_TRUE(gone) << gone.error().message;
  auto second = ChildProcess::spawn({wanted});
  ASSERT_TRUE(second);
  ASSERT_TRUE(d.wait_for("targets", json::object(),
                         [&](const json& r) { return has_live_pid(r, "hadisc-sizes", second->pid()); }, 5s));
  ASSERT_TRUE(second->read_line(10s));
  ASSERT_TRUE(second->write_line("phase"));
  ASSERT_TRUE(second->read_line(60s));
  auto sc2 = d.call("sizeclasses", {{"target", "hadisc-sizes"}});
  ASSERT_TRUE(sc2);
  EXPECT_GT(from_hotalloc(*sc2, "hadisc-sizes").objects, total);
  auto targets = d.call("targets");
  ASSERT_TRUE(targets);
  EXPECT_EQ(find_target(*targets, "hadisc-sizes")->at("processes_seen"), 2);
  EXPECT_EQ(find_target(*targets, "unmatched"), nullptr);

  second->write_line("quit");
  unmatched->write_line("quit");
}

}  // namespace
}  // namespace hotalloc::testing
