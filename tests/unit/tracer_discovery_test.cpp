// --discover against a fixture /proc: Go programs are found by their build
// information (stripped ones too), --match looks at comm, exe, cgroup and
// systemd unit, and each process is examined once unless it execs again.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "target_test_support.h"
#include "tracer/discovery.h"

namespace hotalloc::tracer {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto go = hotalloc::testing::go_target("sizes", hotalloc::testing::go_versions().back(), "stripped");
    HOTALLOC_REQUIRE(go.has_value(), go ? "" : go.error().message);
    root_ = fs::path(tmp_.path()) / "proc";
    // Separate copies, so that each has its own inode, as separate binaries do.
    fs::copy_file(*go, fs::path(tmp_.path()) / "api");
    fs::copy_file(*go, fs::path(tmp_.path()) / "worker");
    process(100, "api", fs::path(tmp_.path()) / "api", "0::/system.slice/api.service\n");
    process(101, "worker", fs::path(tmp_.path()) / "worker", "0::/user.slice/user-1000.slice/session-3.scope\n");
    process(102, "true", "/bin/true", "0::/system.slice/cron.service\n");
    // A kernel thread has no exe.
    write_text(root_ / "2" / "stat", stat_line(2, "kthreadd", 3));
  }

  static std::string stat_line(int pid, std::string_view comm, int start) {
    return fmt::format("{} ({}) S 1 {} {} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 {} 1000000 200 0\n", pid, comm,
                       pid, pid, start);
  }
  void process(int pid, std::string_view comm, const fs::path& exe, std::string_view cgroup, int start = 500) {
    fs::path dir = root_ / std::to_string(pid);
    write_text(dir / "stat", stat_line(pid, comm, start));
    write_text(dir / "cgroup", cgroup);
    fs::remove(dir / "exe");
    fs::create_symlink(exe, dir / "exe");
  }
  std::vector<int> pids(const std::vector<target::ProcessIdentity>& ids) {
    std::vector<int> out;
    for (const auto& id : ids) out.push_back(id.pid);
    return out;
  }

  target::testing::TempDir tmp_;
  fs::path root_;
};

TEST_F(DiscoveryTest, FindsGoProgramsByBuildInfoOnce) {
  Discovery d(target::ProcFs(root_.string()), {});
  EXPECT_EQ(pids(d.scan()), (std::vector<int>{100, 101}));
  // Examined already: a later scan proposes nothing.
  EXPECT_TRUE(d.scan().empty());
  // A new process, and a pid reused by another process, are examined.
  process(103, "api", fs::path(tmp_.path()) / "api", "0::/\n");
  process(102, "api", fs::path(tmp_.path()) / "api", "0::/\n", 900);
  EXPECT_EQ(pids(d.scan()), (std::vector<int>{102, 103}));
  // An exec is examined again even with the same start time.
  EXPECT_TRUE(d.examine(100, true).has_value());
  EXPECT_FALSE(d.examine(100).has_value());
}

TEST_F(DiscoveryTest, RefusedBinariesAreNotProposedAgain) {
  Discovery d(target::ProcFs(root_.string()), {});
  auto found = d.scan();
  ASSERT_EQ(found.size(), 2u);
  d.refuse_binary(found[0]);
  process(104, "api", fs::path(tmp_.path()) / "api", "0::/\n");
  process(105, "worker", fs::path(tmp_.path()) / "worker", "0::/\n");
  EXPECT_EQ(pids(d.scan()), std::vector<int>{105});
}

TEST_F(DiscoveryTest, MatchLooksAtCommExeCgroupAndUnit) {
  struct Case {
    std::vector<std::string> patterns;
    std::vector<int> want;
  };
  for (const Case& c : std::vector<Case>{
           {{"^api$"}, {100}},                       // comm
           {{"/worker$"}, {101}},                    // exe path
           {{"^api\\.service$"}, {100}},             // systemd unit
           {{"^session-[0-9]+\\.scope$"}, {101}},    // scope
           {{"user-1000"}, {101}},                   // cgroup path
           {{"cron"}, {}},                           // matches, but not Go
           {{"nothing", "^worker$"}, {101}},         // any pattern may match
       }) {
    Discovery d(target::ProcFs(root_.string()), c.patterns);
    EXPECT_EQ(pids(d.scan()), c.want) << c.patterns[0];
  }
}

TEST(DiscoveryCgroup, UnitOfAPath) {
  EXPECT_EQ(unit_of("/system.slice/api.service"), "api.service");
  EXPECT_EQ(unit_of("/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope"), "run-r1.scope");
  EXPECT_EQ(unit_of("/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope"), "cri-containerd-abc.scope");
  EXPECT_EQ(unit_of("/"), "");
  EXPECT_EQ(unit_of("/system.slice/.service"), "");
}

TEST(DiscoveryCgroup, ReadsTheUnifiedHierarchyOrSystemdsOnV1) {
  target::testing::TempDir tmp;
  fs::path root = fs::path(tmp.path());
  write_text(root / "1" / "cgroup", "0::/system.slice/a.service\n");
  write_text(root / "2" / "cgroup", "12:pids:/x\n1:name=systemd:/system.slice/b.service\n");
  target::ProcFs procfs(root.string());
  EXPECT_EQ(cgroup_path(procfs, 1), "/system.slice/a.service");
  EXPECT_EQ(cgroup_path(procfs, 2), "/system.slice/b.service");
  EXPECT_EQ(cgroup_path(procfs, 3), "");
}

}  // namespace
}  // namespace hotalloc::tracer
