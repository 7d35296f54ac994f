// Allocation sites and live heap against the program's own heap profile.
//
// tests/targets/heapsites allocates known amounts from known functions (one
// inlined into its caller), keeps some alive and frees the rest, then writes
// its own profile with runtime/pprof. `go tool pprof -top` must list the same
// functions in the same order for hotalloc's profile (taken through
// `hotallocctl pprof`) and for the program's, with alloc_space per function
// within 10% and inuse_space per retaining site within 15% — on every Go
// version and build mode of the matrix. hotalloc attaches only
// after the program has allocated: it reads the runtime's own profile. A program that never
// references runtime.MemProfile must get the reason, not an empty profile.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

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

constexpr double kMiB = 1 << 20;

struct TopRow {
  std::string function;
  double flat = 0;  // bytes
};

// `go tool pprof -top` in bytes, rows in pprof's order (by flat, descending).
Result<std::vector<TopRow>> pprof_top(const std::string& version, const std::string& file, const std::string& index) {
  auto go = go_tool(version);
  if (!go) return fail(go.error());
  // HOME: pprof keeps a history file there.
  std::string dir = std::filesystem::path(file).parent_path();
  auto out = run_capture("HOME='" + dir + "' " + *go + " pprof -top -nodecount=100 -nodefraction=0 -sample_index=" +
                         index + " -unit=B '" + file + "' 2>&1");
  if (!out) return fail(out.error());
  std::vector<TopRow> rows;
  std::istringstream in(*out);
  std::string line;
  bool table = false;
  while (std::getline(in, line)) {
    if (line.find("flat%") != std::string::npos) {
      table = true;
      continue;
    }
    if (!table) continue;
    std::istringstream fields(line);
    std::string flat, flat_pct, sum_pct, cum, cum_pct;
    if (!(fields >> flat >> flat_pct >> sum_pct >> cum >> cum_pct)) continue;
    std::string function;
    std::getline(fields, function);
    function.erase(0, function.find_first_not_of(' '));
    rows.push_back({function, std::stod(flat)});
  }
  if (rows.empty()) return fail("no rows in go tool pprof output:\n{}", *out);
  return rows;
}

double flat_of(const std::vector<TopRow>& rows, const std::string& function) {
  for (const auto& r : rows)
    if (r.function == function || r.function == function + " (inline)") return r.flat;
  return 0;
}

std::string show(const std::vector<TopRow>& rows) {
  std::string s;
  for (size_t i = 0; i < rows.size() && i < 8; i++) s += fmt::format("  {:>14.0f}  {}\n", rows[i].flat, rows[i].function);
  return s;
}

class HeapSites : public ::testing::TestWithParam<GoBuild> {
 protected:
  void SetUp() override {
    HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and read another process's memory");
    version_ = GetParam().version;
    mode_ = GetParam().mode;
    tmp_.emplace(std::filesystem::path(build_dir()) / ("tmp-heapsites-" + version_ + "-" + mode_));
    dir_ = tmp_->path();
    ASSERT_FALSE(dir_.empty()) << "could not make a temporary directory";
  }

  std::string version_, mode_, dir_;
  std::optional<TempDir> tmp_;  // dir_, removed with the fixture whatever the outcome
};

TEST_P(HeapSites, MatchesTheProgramsOwnHeapProfile) {
  auto bin = go_target("heapsites", version_, mode_);
  ASSERT_TRUE(bin) << bin.error().message;
  auto prog = ChildProcess::spawn({*bin});
  ASSERT_TRUE(prog) << prog.error().message;
  ASSERT_TRUE(prog->read_line(10s).value_or("").starts_with("ready ")) << "the test program did not start";
  // Everything is allocated before hotalloc attaches: the runtime's profile
  // covers the process's whole life, and so does hotalloc's view of it.
  ASSERT_TRUE(prog->write_line("run"));
  ASSERT_EQ(prog->read_line(120s).value_or(""), "done");

  auto daemon = DaemonHarness::start({"--pid", std::to_string(prog->pid())});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  const std::string name = wait_attached(d);
  ASSERT_FALSE(name.empty()) << "the daemon did not attach to the program";

  // hotalloc's profile, through hotallocctl as an operator would take it.
  std::string ours = dir_ + "/hotalloc.pb.gz", theirs = dir_ + "/own.pb.gz";
  auto ctl = run_capture("'" + build_dir() + "/hotallocctl' --socket '" + d.socket_path() + "' pprof --target " +
                         name + " -o '" + ours + "'");
  ASSERT_TRUE(ctl) << ctl.error().message << "\n" << d.log();
  EXPECT_NE(ctl->find("go tool pprof"), std::string::npos) << *ctl;
  auto sites = d.call("sites", {{"target", name}, {"limit", 3}});
  ASSERT_TRUE(prog->write_line("profile " + theirs));
  ASSERT_EQ(prog->read_line(30s).value_or(""), "written");

  auto alloc_ours = pprof_top(version_, ours, "alloc_space");
  auto alloc_theirs = pprof_top(version_, theirs, "alloc_space");
  ASSERT_TRUE(alloc_ours) << alloc_ours.error().message;
  ASSERT_TRUE(alloc_theirs) << alloc_theirs.error().message;
  std::string both = "hotalloc:\n" + show(*alloc_ours) + "program:\n" + show(*alloc_theirs);
  ASSERT_GE(alloc_ours->size(), 3u) << both;
  ASSERT_GE(alloc_theirs->size(), 3u) << both;
  for (size_t i = 0; i < 3; i++) {
    EXPECT_EQ((*alloc_ours)[i].function, (*alloc_theirs)[i].function) << "rank " << i << "\n" << both;
    EXPECT_NEAR((*alloc_ours)[i].flat, (*alloc_theirs)[i].flat, 0.10 * (*alloc_theirs)[i].flat) << both;
  }
  // And they are the functions that allocate the most, the inlined one under its own name.
  EXPECT_EQ((*alloc_ours)[0].function, "main.allocChunks") << both;
  EXPECT_EQ((*alloc_ours)[1].function, "main.newNode (inline)") << both;
  EXPECT_EQ((*alloc_ours)[2].function, "main.retainBlocks") << both;
  // Sampling is random; 192 MiB is about 380 samples at the default rate.
  EXPECT_NEAR(flat_of(*alloc_ours, "main.allocChunks"), 192 * kMiB, 0.2 * 192 * kMiB) << both;

  auto live_ours = pprof_top(version_, ours, "inuse_space");
  auto live_theirs = pprof_top(version_, theirs, "inuse_space");
  ASSERT_TRUE(live_ours && live_theirs);
  both = "hotalloc:\n" + show(*live_ours) + "program:\n" + show(*live_theirs);
  for (const char* site : {"main.retainBlocks", "main.retainStrings"}) {
    double want = flat_of(*live_theirs, site);
    EXPECT_GT(want, 8 * kMiB) << site << "\n" << both;
    EXPECT_NEAR(flat_of(*live_ours, site), want, 0.15 * want) << site << "\n" << both;
  }
  // churn's memory was freed before the GC: nothing of it is live.
  EXPECT_LT(flat_of(*live_ours, "main.churn"), 1 * kMiB) << both;
  EXPECT_LT(flat_of(*live_ours, "main.allocChunks"), 1 * kMiB) << both;

  // `sites` names the same leaders, with the inlined frame's caller.
  ASSERT_TRUE(sites) << sites.error().message;
  const json& t = sites->at("targets").at(0);
  EXPECT_EQ(t.at("profile").at("rate"), 524288);
  ASSERT_EQ(t.at("sites").size(), 3u) << t.dump(2);
  EXPECT_EQ(t["sites"][0].at("function"), "main.allocChunks") << t.dump(2);
  const json& node = t["sites"][1];
  EXPECT_EQ(node.at("function"), "main.newNode") << t.dump(2);
  ASSERT_EQ(node.at("inlined_into").size(), 1u) << t.dump(2);
  EXPECT_EQ(node["inlined_into"][0].at("function"), "main.buildList");
  EXPECT_TRUE(node.at("file").get<std::string>().ends_with("main.go"));
  EXPECT_GT(node.at("line").get<int>(), 0);

  prog->write_line("quit");
}

// The sizes program never references runtime.MemProfile: the linker turned
// the runtime's sampling off, and every interface says so.
TEST_P(HeapSites, SaysWhyABinaryWithoutProfilingHasNoProfile) {
  auto bin = go_target("sizes", version_, mode_);
  ASSERT_TRUE(bin) << bin.error().message;
  auto prog = ChildProcess::spawn({*bin});
  ASSERT_TRUE(prog) << prog.error().message;
  ASSERT_TRUE(prog->read_line(10s).value_or("").starts_with("ready "));
  auto daemon = DaemonHarness::start({"--pid", std::to_string(prog->pid())});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  auto sites = d.wait_for("sites", json::object(), [](const json& r) {
    return !r.at("targets").empty() && r["targets"][0].at("profile").at("rate") == 0;
  }, 10s);
  ASSERT_TRUE(sites) << sites.error().message << "\n" << d.log();
  const json& t = sites->at("targets").at(0);
  std::string name = t.at("target");
  EXPECT_FALSE(t.at("profile").at("sampling").get<bool>());
  EXPECT_TRUE(t.at("sites").empty());
  std::string message = t.at("profile").at("message");
  EXPECT_NE(message.find("heap profiling is off"), std::string::npos) << message;

  auto table = run_capture("'" + build_dir() + "/hotallocctl' --socket '" + d.socket_path() + "' sites");
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_NE(table->find("heap profiling is off"), std::string::npos) << *table;

  std::string out = dir_ + "/never.pb.gz";
  auto ctl = run_capture("'" + build_dir() + "/hotallocctl' --socket '" + d.socket_path() + "' pprof -o '" + out +
                         "' 2>&1; echo \"exit $?\"");
  ASSERT_TRUE(ctl);
  EXPECT_NE(ctl->find("not_attached"), std::string::npos) << *ctl;
  EXPECT_NE(ctl->find("heap profiling is off"), std::string::npos) << *ctl;
  EXPECT_NE(ctl->find("exit 1"), std::string::npos) << *ctl;
  EXPECT_FALSE(std::filesystem::exists(out)) << "an empty profile was written";

  auto status = d.call("status");
  ASSERT_TRUE(status);
  auto metrics = d.metrics();
  ASSERT_TRUE(metrics) << metrics.error().message;
  EXPECT_NE(metrics->find("hotalloc_heap_profile_rate_bytes{target=\"" + name + "\"} 0"), std::string::npos)
      << *metrics;
  prog->write_line("quit");
}

HOTALLOC_GO_MATRIX(HeapSites);

}  // namespace
}  // namespace hotalloc::testing
