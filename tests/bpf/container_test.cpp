// A target in a container: another mount and PID namespace, and a binary
// that exists only under the container's private root, invisible from the
// host's mount namespace. hotalloc reaches it through /proc/PID/exe (--pid)
// and /proc/PID/root (--exe), reads it with process_vm_readv, and counts it
// as exactly as any other target.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"
#include "support/go_matrix.h"
#include "support/sizes_phase.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kInside = "/sizes-in-container";

// The host pid of the first child of `pid` (the container's init).
int first_child(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  int child = 0;
  in >> child;
  return child;
}

class Container : public ::testing::TestWithParam<std::string> {};

TEST_P(Container, TracesATargetOnlyTheContainerCanSee) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and create namespaces");
  HOTALLOC_REQUIRE(std::filesystem::exists("/usr/bin/unshare") && std::filesystem::exists("/usr/bin/nsenter"),
                   "needs unshare and nsenter (util-linux)");
  // Go programs built without cgo are static, so they run alone under a bare root.
  auto bin = go_target("sizes", GetParam());
  ASSERT_TRUE(bin) << bin.error().message;

  // The container: new mount and PID namespaces; a tmpfs, mounted only in
  // the new mount namespace, becomes its root and holds the only copy of
  // the program.
  std::string mountpoint = build_dir() + "/tmp-container-" + std::to_string(getpid());
  std::filesystem::create_directories(mountpoint);
  // The tmpfs is only ever mounted inside: on the host this stays an empty directory.
  struct Remove {
    std::string dir;
    ~Remove() {
      std::error_code ec;
      std::filesystem::remove(dir, ec);
    }
  } remove_mountpoint{mountpoint};
  std::string script = fmt::format(
      "set -e; mount -t tmpfs container-root '{0}'; cp '{1}' '{0}{2}'; exec chroot '{0}' {2}", mountpoint, *bin,
      kInside);
  auto box = ChildProcess::spawn({"/usr/bin/unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation",
                                  "private", "/bin/sh", "-c", script});
  ASSERT_TRUE(box) << box.error().message;
  auto hello = box->read_line(10s);
  ASSERT_TRUE(hello && hello->starts_with("ready 1 ")) << "the program should be its PID namespace's init: "
                                                       << hello.value_or("(nothing)");
  int pid = first_child(box->pid());
  ASSERT_GT(pid, 0);

  // The host cannot reach the binary by the path its exe link shows (where
  // the tmpfs is mounted in the container's namespace), only through /proc.
  std::string exe_link = "/proc/" + std::to_string(pid) + "/exe";
  std::error_code ec;
  auto shown = std::filesystem::read_symlink(exe_link, ec);
  EXPECT_EQ(shown.filename(), std::string(kInside).substr(1));
  EXPECT_FALSE(std::filesystem::exists(shown)) << shown;
  EXPECT_TRUE(std::filesystem::is_empty(mountpoint));
  std::string via_root = "/proc/" + std::to_string(pid) + "/root" + kInside;
  ASSERT_TRUE(std::filesystem::exists(via_root));

  {
    // --pid: attached through /proc/PID/exe, counted exactly.
    auto daemon = DaemonHarness::start({"--pid", std::to_string(pid)});
    ASSERT_TRUE(daemon) << daemon.error().message;
    std::string name = wait_attached(**daemon);
    ASSERT_EQ(name, "sizes-in-container") << (*daemon)->log();
    expect_phase_matches_runtime(*box, **daemon, name);
  }

  {
    // --exe through /proc/PID/root: the probes attach to the container's
    // file, so a process started in the container afterwards is counted too.
    auto daemon = DaemonHarness::start({"--exe", "box=" + via_root});
    ASSERT_TRUE(daemon) << daemon.error().message;
    ASSERT_EQ(wait_attached(**daemon), "box") << (*daemon)->log();
    auto second = ChildProcess::spawn({"/usr/bin/nsenter", "--target", std::to_string(pid), "--mount", "--pid", "--root",
                                       kInside});
    ASSERT_TRUE(second) << second.error().message;
    auto ready = second->read_line(10s);
    ASSERT_TRUE(ready && ready->starts_with("ready ")) << ready.value_or("(nothing)");
    EXPECT_FALSE(ready->starts_with("ready 1 ")) << "the second process runs in the same PID namespace";
    expect_phase_matches_runtime(*second, **daemon, "box");
    second->write_line("quit");
    second->stop(SIGTERM, 5s);
  }

  box->write_line("quit");
  box->stop(SIGTERM, 5s);
}

INSTANTIATE_TEST_SUITE_P(GoVersions, Container, ::testing::ValuesIn(go_versions()), go_version_name);

}  // namespace
}  // namespace hotalloc::testing
