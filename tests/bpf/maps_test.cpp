// Go maps against ground truth the program reports itself
// (tests/targets/mapslab): exact growths per kind, the true top keys of a
// Zipf stream, escape analysis confirmed at run time, growth costs tied to
// the growing map and not to other goroutines, and bounded state under a
// million distinct keys.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/env.h"
#include "support/go_matrix.h"
#include "support/traced_program.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Growths and hot keys must hold on every Go version and build mode: these
// are in the test matrix (HOTALLOC_GO_MATRIX, below).
class Maps : public TracedProgram, public ::testing::WithParamInterface<GoBuild> {
  std::string program() const override { return "mapslab"; }
  GoBuild build() const override { return GetParam(); }
};

// The rest, per Go version on its default build.
class MapsTest : public TracedProgramPerVersion {
  std::string program() const override { return "mapslab"; }
};

TEST_P(Maps, GrowthsMatchTheRuntime) {
  start();
  if (HasFatalFailure() || IsSkipped()) return;
  for (int n : {1000, 100000}) {
    json truth = command("grow " + std::to_string(n));
    json want = truth.at("growths");
    // The length is read again at every poll while the map's counters move,
    // and every 10 s after that (collect/map_reader.cpp): the last inserts,
    // after the last growth was evacuated, show within that.
    auto got = wait_map("main.growMap", [&](const json& m) { return m.at("growths") == want && m.at("len") == n; });
    ASSERT_TRUE(got) << "N=" << n << ": no main.growMap map of len " << n << " with growths " << want.dump() << "; "
                     << got.error().message;
    EXPECT_EQ(got->at("on_stack"), false);
    EXPECT_TRUE(got->at("created_seen").get<bool>()) << got->dump();
    EXPECT_TRUE(got->at("site").get<std::string>().starts_with("main.go:")) << got->dump();
    EXPECT_EQ(got->at("key_type"), "int64");
    EXPECT_EQ(got->at("elem_type"), "int64");
  }
  // Episodes end: classic ones when the last old bucket is evacuated, swiss
  // ones at the growth function's return.
  auto events = daemon_->call("events", {{"target", target_}, {"limit", 4096}});
  ASSERT_TRUE(events) << events.error().message;
  int ends = 0;
  for (const json& e : events->at("events"))
    if (e.at("kind") == "growth_end" && e.value("site", "").starts_with("main.go:")) ends++;
  EXPECT_GE(ends, 8) << events->dump();
  prog_->write_line("quit");
}

TEST_P(Maps, HotKeysMatchZipfTruth) {
  start({"--map-inserts=on"});
  if (HasFatalFailure() || IsSkipped()) return;
  json truth = command("zipf 200000");
  ASSERT_EQ(truth.size(), 10u);
  auto r = daemon_->wait_for("hotkeys", {{"target", target_}, {"limit", 10}}, [](const json& res) {
    for (const json& m : res.at("maps"))
      if (m.at("function") == "main.zipf" && m.at("inserts").get<uint64_t>() >= 200000) return true;
    return false;
  }, 20s);
  ASSERT_TRUE(r) << r.error().message << "\n" << daemon_->log().substr(0, 4000);
  const json* hot = nullptr;
  for (const json& m : r->at("maps"))
    if (m.at("function") == "main.zipf") hot = &m;
  ASSERT_TRUE(hot);
  EXPECT_EQ(hot->at("key_type"), "string");
  const json& keys = hot->at("keys");
  ASSERT_EQ(keys.size(), 10u) << hot->dump();
  for (size_t i = 0; i < 10; i++) {
    std::string key = keys[i].at("key");
    key = key.substr(1, key.size() - 2);  // shown quoted
    double want = truth[i].at("count");
    double got = keys[i].at("count");
    // Equal true counts may come in either order.
    if (key != truth[i].at("key")) {
      bool tie = false;
      for (const json& t : truth) tie |= t.at("key") == key && t.at("count") == truth[i].at("count");
      EXPECT_TRUE(tie) << "rank " << i << ": hotalloc " << key << ", truth " << truth[i].dump();
    }
    EXPECT_LE(std::abs(got - want) / want, 0.01) << "rank " << i << ": " << keys[i].dump() << " vs " << truth[i].dump();
  }
  prog_->write_line("quit");
}

TEST_P(MapsTest, StackAndHeapMapsAsEscapeAnalysisSays) {
  start({"--map-inserts=on"});
  if (HasFatalFailure() || IsSkipped()) return;
  // What the compiler decided, from its own report.
  auto go = go_command(GetParam());
  ASSERT_TRUE(go) << go.error().message;
  auto report = run_capture(fmt::format(
      "d=$(mktemp -d) && cp '{0}/tests/targets/mapslab/main.go' $d/ && printf 'module m\\n\\ngo 1.19\\n' > $d/go.mod && "
      "cd $d && {1} build -gcflags=-m -o /dev/null . 2>&1; rm -rf $d",
      source_dir(), *go));
  ASSERT_TRUE(report) << report.error().message;
  std::ifstream src(source_dir() + "/tests/targets/mapslab/main.go");
  std::string line;
  int lineno = 0, stack_line = 0, heap_line = 0;
  while (std::getline(src, line)) {
    lineno++;
    if (line.find("does not escape: the header") != std::string::npos) stack_line = lineno;
    if (line.find("escapes to the heap through") != std::string::npos) heap_line = lineno;
  }
  EXPECT_NE(report->find(fmt::format("main.go:{}:", stack_line)), std::string::npos);
  std::istringstream lines(*report);
  bool says_stack = false, says_heap = false;
  while (std::getline(lines, line)) {
    says_stack |= line.find(fmt::format("main.go:{}:", stack_line)) != std::string::npos &&
                  line.find("does not escape") != std::string::npos;
    says_heap |= line.find(fmt::format("main.go:{}:", heap_line)) != std::string::npos &&
                 line.find("escapes to heap") != std::string::npos;
  }
  ASSERT_TRUE(says_stack && says_heap) << *report;

  command("stackheap");
  auto stack = wait_map("main.stackMap", [](const json& m) { return m.at("inserts").get<uint64_t>() >= 4; });
  ASSERT_TRUE(stack) << stack.error().message;
  EXPECT_EQ(stack->at("on_stack"), true) << stack->dump();
  auto heap = wait_map("main.heapMap", [](const json& m) { return m.at("inserts").get<uint64_t>() >= 4; });
  ASSERT_TRUE(heap) << heap.error().message;
  EXPECT_EQ(heap->at("on_stack"), false) << heap->dump();
  prog_->write_line("quit");
}

TEST_P(MapsTest, GrowthCostsGoToTheGrowingMapOnly) {
  start();
  if (HasFatalFailure() || IsSkipped()) return;
  // Alone first: what the growth itself refills (overflow buckets, small arrays).
  json alone_truth = command("grow 100000");
  auto alone = wait_map("main.growMap", [&](const json& m) { return m.at("growths") == alone_truth.at("growths"); });
  ASSERT_TRUE(alone) << alone.error().message;
  uint64_t alone_refills = alone->at("growth_refills");

  json truth = command("correlate 100000");
  auto got = wait_map("main.growMap", [&](const json& m) {
    return m.at("id") != alone->at("id") && m.at("growths") == truth.at("growths");
  });
  ASSERT_TRUE(got) << got.error().message;
  uint64_t min = truth.at("min_growth_bytes");
  uint64_t bytes = got->at("growth_bytes");
  EXPECT_GE(bytes, min) << got->dump();
  EXPECT_LE(bytes, min + min / 2) << got->dump();
  EXPECT_EQ(got->at("growth_large_allocs"), truth.at("large_arrays")) << got->dump();
  // The other goroutines refilled 256-byte spans all along; none of that is the map's.
  auto sizes = daemon_->call("sizeclasses", {{"target", target_}});
  ASSERT_TRUE(sizes) << sizes.error().message;
  uint64_t others = 0;
  for (const json& c : sizes->at("targets")[0].at("classes"))
    if (c.at("object_size") == 256) others = c.at("refills");
  EXPECT_GE(others, 1000u) << "the other goroutines should have refilled 256-byte spans";
  // The growth itself refills more with others around: their allocations
  // bring GC cycles, and each flushes the mcaches, so the growth's next
  // allocation in each size class it is using refills early: bucket arrays
  // and overflow buckets, or swiss group arrays of several sizes, tables and
  // directories (up to about eight classes at once). Taking the others'
  // refills would add a thousand or more.
  uint64_t gc_extra = 8 * (truth.at("gc_cycles").get<uint64_t>() + 1);
  EXPECT_LE(got->at("growth_refills").get<uint64_t>(), alone_refills + gc_extra + 16)
      << "GC cycles while it grew: " << truth.at("gc_cycles") << "\nalone: " << alone->dump() << "\nwith others: " << got->dump();
  // The timeline's episodes name the map.
  auto events = daemon_->call("events", {{"target", target_}, {"limit", 4096}});
  ASSERT_TRUE(events) << events.error().message;
  int episodes = 0;
  for (const json& e : events->at("events"))
    episodes += e.at("kind") == "growth_end" && e.value("map", json(0)) == got->at("id");
  EXPECT_GE(episodes, 8) << events->dump();
  prog_->write_line("quit");
}

TEST_P(MapsTest, MillionDistinctKeysStayBounded) {
  start({"--map-inserts=on"});
  if (HasFatalFailure() || IsSkipped()) return;
  command("many 1000000", 120s);
  auto r = wait_map("main.many", [](const json& m) { return m.at("inserts").get<uint64_t>() >= 1000000; });
  ASSERT_TRUE(r) << r.error().message;
  auto status = daemon_->call("status");
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_GT(status->at("drops").value("hot_key_evicted", 0), 0) << "evictions of the kernel's key table are counted";
  // README "Maps" (Bounds): the model and kernel tables are bounded; the daemon stays under 200 MiB.
  if (memory_bound_applies("the 200 MiB bound on the daemon's VmRSS")) {
    EXPECT_LE(proc_status_kib(daemon_->process().pid(), "VmRSS"), 200 * 1024) << "daemon RSS";
  }
  auto text = daemon_->metrics();
  ASSERT_TRUE(text) << text.error().message;
  std::istringstream lines(*text);
  int series = 0;
  for (std::string line; std::getline(lines, line);) series += line.starts_with("hotalloc_map_hot_key_inserts_total{");
  EXPECT_GT(series, 0);
  EXPECT_LE(series, 5 * 6 + 1) << "hot-key series: at most 5 maps x (5 keys + __other__), plus other";
  prog_->write_line("quit");
}

HOTALLOC_GO_MATRIX(Maps);
INSTANTIATE_TEST_SUITE_P(GoVersions, MapsTest, ::testing::ValuesIn(go_versions()), go_version_name);

}  // namespace
}  // namespace hotalloc::testing
