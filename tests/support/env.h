// What tests need from their environment: Go test programs built with real
// toolchains, tools fetched into the project cache, and the rule that a
// prerequisite which is missing under CI is a failure, never a skip.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
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

// GOROOT of Go VERSION's toolchain, fetched into the cache by
// tools/go-toolchain.sh.
Result<std::string> go_root(std::string_view version);

// The shell words that run the `go` command of Go VERSION offline
// ("GOTOOLCHAIN=local ... '.../bin/go'"), with the project cache as its
// build cache, or `gocache` when one is given.
Result<std::string> go_command(std::string_view version, std::string_view gocache = {});

// The shell words that run `go tool` of Go VERSION ("... go' tool"), with
// the project cache as its build cache: from Go 1.25 on, tools such as pprof
// are built on first use, which takes most of a minute once and then none.
Result<std::string> go_tool(std::string_view version);

// A Debian package's tree unpacked into the cache by tools/fetch-deb.sh.
Result<std::string> fetched_tree(std::string_view name, const std::vector<std::string>& packages);

// A "NAME:  N kB" field of /proc/PID/status (VmRSS, RssAnon, ...) in KiB;
// -1 when the process or field is gone.
long proc_status_kib(int pid, std::string_view field);

// The number of open file descriptors of process PID, counted once it is
// idle: after 300 ms, since the socket connection of a query just made may
// take that long to be closed on the daemon's side.
int open_fds(int pid);

// Whether this binary was compiled with AddressSanitizer, decided at compile
// time. hotallocd comes from the same build tree (-DHOTALLOC_SANITIZE=ON
// compiles both with it), so this also says whether the daemon under test is.
bool built_with_asan();

// Whether the daemon's memory figures (VmRSS, RssAnon) can be held to a
// bound in this build: not under ASan, whose quarantine keeps up to 256 MiB
// of freed memory and whose shadow memory adds to it, so the figures say
// nothing there (LeakSanitizer checks the daemon at its exit instead, and
// tools/test-sanitize.sh fails the run on any report). When they cannot, says
// so on stdout and in the test's property "memory_bound_unchecked", naming
// `what` (the comparison not made).
bool memory_bound_applies(const std::string& what);

// Polls `pred` every `interval` until it holds or `timeout` has passed; the
// last answer (asked once more at the deadline).
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(50));

// A POSIX extended regex (--match) matching `text` literally.
std::string regex_literal(const std::string& text);

// Runs a command through /bin/sh, returning its stdout; fails on nonzero exit.
Result<std::string> run_capture(const std::string& command);

std::string source_dir();
std::string build_dir();

// A fresh directory PREFIX-XXXXXX (mkdtemp; PREFIX's parent is created if
// need be), removed with everything in it when the object goes, whether the
// test passed or not. By default under the build tree, where everything the
// tests write goes. path() is empty when the directory could not be made.
class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& prefix = std::filesystem::path(build_dir()) / "tmp-target");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Copies of test programs under names of their own (what --exe, --match
// and target names see), in a private directory, TMPDIR/hotalloc-TAG-XXXXXX
// (a TempDir), that goes with this object.
class ProgramCopies {
 public:
  explicit ProgramCopies(const std::string& tag);
  // Copies `bin` into the directory as `name`; the copy's path. Throws when
  // the directory could not be made or the copy fails (a test failure).
  std::string add(const std::string& bin, const std::string& name);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  TempDir tmp_;
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
