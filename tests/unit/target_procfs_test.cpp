#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>

#include "target/procfs.h"
#include "target_test_support.h"

namespace hotalloc::target {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

void write_text(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A stat line with the given comm and start time (field 22).
std::string stat_line(int pid, std::string_view comm, std::string_view start_time) {
  return fmt::format(
      "{} ({}) S 1 {} {} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 {} 1000000 200 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
      pid, comm, pid, pid, start_time);
}

class ProcFsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = fs::path(tmp_.path()) / "proc";
    binary_ = fs::path(tmp_.path()) / "app";
    write_text(binary_, "not really an executable");

    // A user process whose comm has spaces and parentheses.
    write_text(root_ / "4242" / "stat", stat_line(4242, "my (odd) app", "987654"));
    fs::create_symlink(binary_, root_ / "4242" / "exe");
    // A kernel thread: no exe.
    write_text(root_ / "2" / "stat", stat_line(2, "kthreadd", "3"));
    // Not processes.
    write_text(root_ / "self" / "stat", "");
    write_text(root_ / "meminfo", "MemTotal: 1 kB\n");
    write_text(root_ / "17x" / "stat", "");
  }

  TempDir tmp_;
  fs::path root_;
  fs::path binary_;
};

TEST_F(ProcFsFixture, ReadsIdentity) {
  ProcFs proc(root_.string());
  auto id = proc.identity(4242);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->pid, 4242);
  EXPECT_EQ(id->start_time, 987654u);
  EXPECT_EQ(id->comm, "my (odd) app");
  EXPECT_EQ(id->exe_path, binary_.string());
  struct stat st {};
  ASSERT_EQ(::stat(binary_.c_str(), &st), 0);
  EXPECT_EQ(id->exe.dev, st.st_dev);
  EXPECT_EQ(id->exe.ino, st.st_ino);
  EXPECT_EQ(proc.exe_link(4242), root_.string() + "/4242/exe");
}

TEST_F(ProcFsFixture, KernelThreadsHaveNoExecutable) {
  auto id = ProcFs(root_.string()).identity(2);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->comm, "kthreadd");
  EXPECT_EQ(id->start_time, 3u);
  EXPECT_EQ(id->exe_path, "");
  EXPECT_EQ(id->exe.ino, 0u);
}

TEST_F(ProcFsFixture, ListsNumericEntriesOnly) {
  EXPECT_EQ(ProcFs(root_.string()).pids(), (std::vector<int>{2, 4242}));
  EXPECT_TRUE(ProcFs((root_ / "missing").string()).pids().empty());
}

TEST_F(ProcFsFixture, MissingProcessesAreNamed) {
  auto id = ProcFs(root_.string()).identity(31337);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().message, "process 31337 does not exist");
}

TEST_F(ProcFsFixture, MalformedStatIsAnError) {
  write_text(root_ / "77" / "stat", "77 no-parens S 1\n");
  write_text(root_ / "78" / "stat", "78 (short) S 1 2 3\n");
  write_text(root_ / "79" / "stat", stat_line(79, "x", "12z"));
  ProcFs proc(root_.string());
  auto a = proc.identity(77);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("malformed stat line"), std::string::npos) << a.error().message;
  auto b = proc.identity(78);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("no start time"), std::string::npos) << b.error().message;
  auto c = proc.identity(79);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("malformed start time"), std::string::npos) << c.error().message;
}

TEST(ProcFsLive, IdentifiesThisProcess) {
  ProcFs proc;
  int self = static_cast<int>(::getpid());
  auto id = proc.identity(self);
  ASSERT_TRUE(id) << id.error().message;
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe);
  ASSERT_GT(n, 0);
  std::string exe_path(exe, static_cast<size_t>(n));
  EXPECT_EQ(id->exe_path, exe_path);
  EXPECT_GT(id->start_time, 0u);
  EXPECT_EQ(id->comm, std::string(fs::path(id->exe_path).filename()).substr(0, 15));
  struct stat st {};
  ASSERT_EQ(::stat(exe_path.c_str(), &st), 0);
  EXPECT_EQ(id->exe.ino, st.st_ino);
  EXPECT_EQ(id->exe.dev, st.st_dev);

  auto pids = proc.pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), self), pids.end());
  EXPECT_EQ(proc.exe_link(self), fmt::format("/proc/{}/exe", self));

  // The identity is stable while the process lives.
  auto again = proc.identity(self);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->start_time, id->start_time);
}

TEST(ProcFsLive, VanishedProcessIsNamed) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto id = ProcFs().identity(child);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().message, fmt::format("process {} does not exist", child));
}

}  // namespace
}  // namespace hotalloc::target
