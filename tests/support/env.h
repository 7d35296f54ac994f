// What tests need from their environment: Go test programs built with real
// toolchains, tools fetched into the project cache, and the rule that a
// prerequisite which is missing under CI is a failure, never a skip.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "util/result.h"

namespace hotalloc::testing {

// True when running under CI (CI=true).
bool under_ci();

// The words of environment variable `var`, else those of `fallback`.
std::vector<std::string> env_words(const char* var, const char* fallback);

// The Go versions this run covers: $HOTALLOC_GO_VERSIONS (space-separated),
// else 1.19 and 1.26.
std::vector<std::string> go_versions();

// Path of tests/targets/NAME built with Go VERSION (1.19 ... 1.27) in MODE
// (default, stripped, pie, cgo, static); built once and cached outside the
// clone by tools/go-build-target.sh.
Result<std::string> go_target(std::string_view name, std::string_view version,
                              std::string_view mode = "default");

// The shell words that run the `go` command of Go VERSION offline
// ("GOTOOLCHAIN=local ... '.../bin/go'"), with the project cache as its build cache.
Result<std::string> go_command(std::string_view version);

// The shell words that run `go tool` of Go VERSION ("... go' tool"), with
// the project cache as its build cache: from Go 1.25 on, tools such as pprof
// are built on first use, which takes most of a minute once and then none.
Result<std::string> go_tool(std::string_view version);

// A Debian package's tree unpacked into the cache by tools/fetch-deb.sh.
Result<std::string> fetched_tree(std::string_view name, const std::vector<std::string>& packages);

// A "NAME:  N kB" field of /proc/PID/status (VmRSS, RssAnon, ...) in KiB;
// -1 when the process or field is gone.
long proc_status_kib(int pid, std::string_view field);

// Runs a command through /bin/sh, returning its stdout; fails on nonzero exit.
Result<std::string> run_capture(const std::string& command);

std::string source_dir();
std::string build_dir();

// Copies of test programs under names of their own (what --exe, --match
// and target names see), in a private directory, TMPDIR/hotalloc-TAG-PID,
// that goes with this object.
class ProgramCopies {
 public:
  explicit ProgramCopies(const std::string& tag);
  ~ProgramCopies();
  ProgramCopies(const ProgramCopies&) = delete;
  ProgramCopies& operator=(const ProgramCopies&) = delete;
  // Copies `bin` into the directory as `name`; the copy's path.
  std::string add(const std::string& bin, const std::string& name);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace hotalloc::testing

// Skips the test with a reason, except under CI where it fails instead:
// a test that cannot run there must not count as a pass.
#define HOTALLOC_REQUIRE(cond, why)                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      if (::hotalloc::testing::under_ci()) {                                     \
        FAIL() << "prerequisite missing under CI: " << (why);                    \
      } else {                                                                   \
        GTEST_SKIP() << (why);                                                   \
      }                                                                          \
    }                                                                            \
  } while (0)
