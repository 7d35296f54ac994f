// Reading a process's memory: many independent objects in one batch, where
// one that is not mapped must not cost the others.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "heapprof/process_memory.h"
#include "support/env.h"

namespace hotalloc::heapprof {
namespace {

using namespace std::chrono_literals;

// A page reserved PROT_NONE for as long as the object lives: reading it
// fails (EFAULT), and since it stays mapped, nothing else (malloc, ASan) can
// be given its addresses meanwhile and make them readable.
class UnreadablePage {
 public:
  UnreadablePage() : size_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
    p_ = mmap(nullptr, size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  ~UnreadablePage() {
    if (p_ != MAP_FAILED) munmap(p_, size_);
  }
  UnreadablePage(const UnreadablePage&) = delete;
  UnreadablePage& operator=(const UnreadablePage&) = delete;
  bool ok() const { return p_ != MAP_FAILED; }
  uint64_t address() const { return reinterpret_cast<uint64_t>(p_); }

 private:
  size_t size_;
  void* p_;
};

// The state letter of /proc/PID/stat ('R', 'S', 'Z', ...); 0 when unreadable.
char proc_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  size_t close = text.rfind(')');  // the command name may hold anything, ')' too
  if (close == std::string::npos || close + 2 >= text.size()) return 0;
  return text[close + 2];
}

TEST(ProcessMemory, ReadEachFillsEveryReadableRange) {
  std::array<uint64_t, 4> objects = {11, 22, 33, 44};
  UnreadablePage page;
  ASSERT_TRUE(page.ok()) << "mmap: " << std::strerror(errno);
  uint64_t hole = page.address();
  std::array<uint64_t, 6> into{};
  // The unmapped ones first, between, and last: each stops a batch.
  std::vector<Range> ranges = {
      {hole, {reinterpret_cast<uint8_t*>(&into[0]), 8}},
      {reinterpret_cast<uint64_t>(&objects[0]), {reinterpret_cast<uint8_t*>(&into[1]), 8}},
      {reinterpret_cast<uint64_t>(&objects[1]), {reinterpret_cast<uint8_t*>(&into[2]), 8}},
      {hole + 8, {reinterpret_cast<uint8_t*>(&into[3]), 8}},
      {reinterpret_cast<uint64_t>(&objects[3]), {reinterpret_cast<uint8_t*>(&into[4]), 8}},
      {hole + 16, {reinterpret_cast<uint8_t*>(&into[5]), 8}},
  };
  ProcessMemory self(getpid());
  std::vector<bool> ok = self.read_each(ranges);
  EXPECT_EQ(ok, (std::vector<bool>{false, true, true, false, true, false}));
  EXPECT_EQ(into[1], 11u);
  EXPECT_EQ(into[2], 22u);
  EXPECT_EQ(into[4], 44u);
  // read() needs them all.
  EXPECT_FALSE(self.read(ranges));
  EXPECT_TRUE(self.read(std::span(ranges).subspan(1, 2)));
}

TEST(ProcessMemory, ReadEachOfAGoneProcessReadsNothing) {
  // The child is forked from us, so every address below is mapped in it
  // too, with the same contents: while it lives, each range would be
  // readable. Once it has exited it has no memory at all (ESRCH), and
  // nothing can be read, though no range is unmapped (as EFAULT would say).
  // It is read while a zombie, exited but not yet reaped, so that its pid
  // cannot have been given to another process meanwhile.
  std::array<uint64_t, 3> from = {7, 8, 9};
  std::array<uint64_t, 3> into{};
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  struct Reap {
    pid_t pid;
    ~Reap() {
      int status = 0;
      waitpid(pid, &status, 0);
    }
  } reap{child};
  ASSERT_TRUE(hotalloc::testing::eventually([&] { return proc_state(child) == 'Z'; }, 5s))
      << "pid " << child << " did not become a zombie; state " << proc_state(child);

  std::vector<Range> ranges;
  for (size_t i = 0; i < from.size(); i++)
    ranges.push_back({reinterpret_cast<uint64_t>(&from[i]), {reinterpret_cast<uint8_t*>(&into[i]), 8}});
  ProcessMemory gone(child);
  EXPECT_EQ(gone.read_each(ranges), (std::vector<bool>{false, false, false}));
  EXPECT_FALSE(gone.read(ranges));
  EXPECT_EQ(into, (std::array<uint64_t, 3>{}));
  ASSERT_EQ(proc_state(child), 'Z') << "the child was reaped during the test";
}

}  // namespace
}  // namespace hotalloc::heapprof
