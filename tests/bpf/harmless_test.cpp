// Tracing must never change what a program does, checked on Go code no one
// here wrote: with --discover and every tier on (insert probes included), the
// Go standard library's own tests pass (their binaries are named with --exe
// too, so each is traced from its start), and the `go` command builds a module
// into exactly the binary it builds untraced. The daemon's counters show it
// really traced those processes, so a pass cannot come from tracing nothing.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/daemon_harness.h"
#include "support/env.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Packages whose code allocates and uses maps, so that their tests run
// through the hooks of every tier; together about a minute here.
const std::vector<std::string> kPackages = {"sort",   "strings",          "bytes",          "strconv",
                                            "maps",   "encoding/json",    "container/heap", "container/list",
                                            "sync",   "runtime/metrics"};

// Runs `command` with stderr merged; its output and exit status.
std::pair<std::string, int> run_merged(const std::string& command) {
  auto out = run_capture("( " + command + " ) 2>&1; echo \"exit=$?\"");
  if (!out) return {out.error().message, -1};
  auto at = out->rfind("exit=");
  return {out->substr(0, at), std::stoi(out->substr(at + 5))};
}

uint64_t objects_of(const json& sizeclasses, const std::string& target) {
  for (const auto& t : sizeclasses.at("targets"))
    if (t.at("target") == target) return t.at("totals").at("objects").get<uint64_t>();
  return 0;
}

uint64_t processes_seen(const json& targets, const std::string& target) {
  for (const auto& t : targets.at("targets"))
    if (t.at("name") == target) return t.at("processes_seen").get<uint64_t>();
  return 0;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A module of two packages that needs only the standard library.
void write_module(const fs::path& dir) {
  write_file(dir / "go.mod", "module example.test/harmless\n\ngo 1.21\n");
  write_file(dir / "words/words.go", R"(package words

import (
	"sort"
	"strings"
)

// Counts counts each word of text and returns the words by falling count.
func Counts(text string) ([]string, map[string]int) {
	n := map[string]int{}
	for _, w := range strings.Fields(text) {
		n[strings.ToLower(w)]++
	}
	out := make([]string, 0, len(n))
	for w := range n {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return n[out[i]] > n[out[j]] || n[out[i]] == n[out[j]] && out[i] < out[j] })
	return out, n
}
)");
  write_file(dir / "main.go", R"(package main

import (
	"encoding/json"
	"fmt"

	"example.test/harmless/words"
)

func main() {
	order, n := words.Counts("the cat and the dog and THE bird")
	b, _ := json.Marshal(n)
	fmt.Println(order[0], order[1], string(b))
}
)");
}

TEST(Harmless, GoStandardLibraryTestsAndGoBuildBehaveAsUntraced) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  const std::string version = go_versions().back();
  auto go = go_command(version);
  ASSERT_TRUE(go) << go.error().message;
  auto goroot = go_root(version);
  ASSERT_TRUE(goroot) << goroot.error().message;

  // Removed with everything in it when the test ends, passed or not.
  const TempDir tmp(fs::temp_directory_path() / "hotalloc-harmless");
  ASSERT_FALSE(tmp.path().empty()) << "mkdtemp failed";
  const fs::path dir = tmp.path();
  // The module's private build cache (below): built from nothing while traced.
  auto private_go = go_command(version, (dir / "gocache").string());
  ASSERT_TRUE(private_go) << private_go.error().message;
  fs::create_directories(dir / "bin");
  write_module(dir / "module");

  // The test binaries are linked first, so that they can be named with
  // --exe as well: a process is then counted from its first allocation,
  // however short it runs, instead of from when discovery attaches.
  std::string packages;
  for (const auto& p : kPackages) packages += " " + p;
  auto [built_out, built_status] = run_merged("cd '" + dir.string() + "' && " + *go + " test -c -o '" +
                                              (dir / "bin").string() + "/'" + packages);
  ASSERT_EQ(built_status, 0) << built_out;

  // Every Go process this test starts, and nothing else on a shared host:
  // the toolchain's programs (go, compile, link) and the test binaries.
  std::vector<std::string> args = {"--discover", "--map-inserts=on", "--match",
                                   "^" + regex_literal(fs::canonical(*goroot).string()) + "/", "--match",
                                   "^" + regex_literal(dir.string()) + "/"};
  for (const auto& p : kPackages) {
    args.push_back("--exe");
    args.push_back((dir / "bin" / (fs::path(p).filename().string() + ".test")).string());
  }
  auto daemon = DaemonHarness::start(args);
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;

  // Each package's tests, run as `go test` runs them: in the package's
  // source directory, which holds their testdata.
  for (const auto& p : kPackages) {
    auto [out, status] = run_merged("cd '" + *goroot + "/src/" + p + "' && '" +
                                    (dir / "bin" / (fs::path(p).filename().string() + ".test")).string() +
                                    "' -test.short -test.count=1");
    EXPECT_EQ(status, 0) << p << " failed under tracing:\n" << out;
    EXPECT_TRUE(out.ends_with("PASS\n")) << p << ":\n" << out;
  }

  // The module, built from nothing (a private build cache) while traced.
  const std::string traced_bin = (dir / "traced").string(), untraced_bin = (dir / "untraced").string();
  auto [build_out, build_status] = run_merged("cd '" + (dir / "module").string() + "' && " + *private_go +
                                              " build -trimpath -o '" + traced_bin + "' .");
  ASSERT_EQ(build_status, 0) << build_out;

  // The daemon traced them: each test binary and the toolchain's programs
  // are targets named after their executables, with allocations counted.
  auto sc = d.call("sizeclasses");
  ASSERT_TRUE(sc) << sc.error().message;
  auto targets = d.call("targets");
  ASSERT_TRUE(targets) << targets.error().message;
  for (const auto& p : kPackages) {
    std::string name = fs::path(p).filename().string() + ".test";
    EXPECT_GE(processes_seen(*targets, name), 1u) << name << " was not traced\n" << targets->dump(1);
    EXPECT_GT(objects_of(*sc, name), 0u) << name << ": no allocations counted";
  }
  // The go command and the compiler run long enough to be discovered and
  // attached every time; a link of this small module may be over sooner.
  for (std::string tool : {"go", "compile"})
    EXPECT_GT(objects_of(*sc, tool), 0u) << tool << " was not traced\n" << targets->dump(1);
  auto status = d.call("status");
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_GT(insert_probe_hits(*status), 0u) << "insert probes were on and fired";
  EXPECT_TRUE(d.process().running()) << d.log();

  // Untraced: the same build must give the same bytes (Go builds are
  // reproducible with -trimpath; the shared cache compiled the standard
  // library untraced).
  d.process().stop(SIGTERM, 10s);
  auto [ref_out, ref_status] =
      run_merged("cd '" + (dir / "module").string() + "' && " + *go + " build -trimpath -o '" + untraced_bin + "' .");
  ASSERT_EQ(ref_status, 0) << ref_out;
  auto same = run_merged("cmp '" + traced_bin + "' '" + untraced_bin + "'");
  EXPECT_EQ(same.second, 0) << "the traced build differs from the untraced one: " << same.first;
  auto [run_out, run_status] = run_merged("'" + traced_bin + "'");
  EXPECT_EQ(run_out, "the and {\"and\":2,\"bird\":1,\"cat\":1,\"dog\":1,\"the\":3}\n");
}

}  // namespace
}  // namespace hotalloc::testing
