// Which struct offsets attaching uses: the version's table, unless the
// binary's DWARF says otherwise (DWARF wins, with a warning), and, for a Go
// newer than any hotalloc knows, DWARF alone (no DWARF: refused, saying so).
// The binaries are real toolchains' output with their build info claiming
// another version, so the true layout is known and the counts must still be
// exact.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"
#include "support/go_binaries.h"
#include "support/sizes_phase.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A private directory under the build tree for altered binaries.
class LayoutChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(build_dir()) / ("tmp-layout-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // tests/targets/sizes built with Go `version` in `mode`, copied as NAME
  // with its build info claiming the same release in series `claimed`.
  std::string claiming(const std::string& version, const std::string& mode, const std::string& claimed,
                       const std::string& name) {
    auto bin = go_target("sizes", version, mode);
    EXPECT_TRUE(bin) << bin.error().message;
    if (!bin) return {};
    auto real = run_capture("echo quit | '" + *bin + "'");  // "ready PID go1.NN.P"
    EXPECT_TRUE(real);
    if (!real) return {};
    std::string go = real->substr(real->rfind(' ') + 1);
    go = go.substr(0, go.find('\n'));
    claimed_ = "go" + claimed + go.substr(go.find('.', 4));
    std::string out = dir_ / name;
    auto st = copy_claiming_go_version(*bin, out, claimed_);
    EXPECT_TRUE(st) << st.error().message;
    return st ? out : std::string();
  }

  std::filesystem::path dir_;
  std::string claimed_;  // the version the last copy claims
};

const json* target_with_spec(const json& targets, const std::string& spec) {
  for (const auto& t : targets.at("targets"))
    if (t.at("spec").get<std::string>().find(spec) != std::string::npos) return &t;
  return nullptr;
}

// A Go 1.26 binary claiming 1.23: that table has other mcache offsets and
// classic maps. DWARF corrects both, the daemon warns, the counts are exact.
TEST_F(LayoutChoice, DwarfWinsWhereTheTableDisagrees) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  std::string bin = claiming("1.26", "default", "1.23", "claims-1.23");
  ASSERT_FALSE(bin.empty());
  auto prog = ChildProcess::spawn({bin});
  ASSERT_TRUE(prog);
  ASSERT_TRUE(prog->read_line(10s).value_or("").starts_with("ready "));

  auto daemon = DaemonHarness::start({"--pid", std::to_string(prog->pid())});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  std::string name = wait_attached(d);
  ASSERT_FALSE(name.empty());
  std::string log = d.log();
  EXPECT_NE(log.find("runtime layout taken from DWARF, which disagrees with hotalloc's table"), std::string::npos)
      << log;
  EXPECT_NE(log.find("runtime.mcache.alloc is at 48 in DWARF, not 40"), std::string::npos) << log;
  EXPECT_NE(log.find("maps are swiss tables in DWARF, not classic buckets"), std::string::npos) << log;
  expect_phase_matches_runtime(*prog, d, name);
  prog->write_line("quit");
}

// Go "1.28" (a 1.27 binary claiming it): attached with its DWARF's offsets
// and counted exactly; the same without DWARF is refused with the version
// and what is missing, while the daemon goes on with the other.
TEST_F(LayoutChoice, NewerGoNeedsDwarf) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  std::string with_dwarf = claiming("1.27", "default", "1.28", "newer-with-dwarf");
  std::string stripped = claiming("1.27", "stripped", "1.28", "newer-stripped");
  ASSERT_FALSE(with_dwarf.empty() || stripped.empty());
  auto good = ChildProcess::spawn({with_dwarf});
  auto bad = ChildProcess::spawn({stripped});
  ASSERT_TRUE(good && bad);
  ASSERT_TRUE(good->read_line(10s).value_or("").starts_with("ready "));
  ASSERT_TRUE(bad->read_line(10s).value_or("").starts_with("ready "));

  auto daemon = DaemonHarness::start(
      {"--pid", std::to_string(bad->pid()), "--pid", std::to_string(good->pid())});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  auto targets = d.call("targets");
  ASSERT_TRUE(targets) << targets.error().message;

  const json* refused = target_with_spec(*targets, "pid:" + std::to_string(bad->pid()));
  ASSERT_TRUE(refused) << targets->dump();
  EXPECT_EQ(refused->at("state"), "failed");
  std::string why = refused->at("error");
  std::string version = claimed_.substr(2);
  EXPECT_NE(why.find("Go " + version + " is newer than every Go version hotalloc knows"), std::string::npos) << why;
  EXPECT_NE(why.find("the binary has no DWARF"), std::string::npos) << why;

  const json* traced = target_with_spec(*targets, "pid:" + std::to_string(good->pid()));
  ASSERT_TRUE(traced) << targets->dump();
  ASSERT_EQ(traced->at("state"), "attached") << traced->dump();
  EXPECT_EQ(traced->at("go_version"), claimed_);
  EXPECT_NE(d.log().find("has no layout table; using the offsets its DWARF describes"), std::string::npos)
      << d.log();
  expect_phase_matches_runtime(*good, d, traced->at("name"));
  good->write_line("quit");
  bad->write_line("quit");
}

}  // namespace
}  // namespace hotalloc::testing
