// Reading a process's memory: many independent objects in one batch, where
// one that is not mapped must not cost the others.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "heapprof/process_memory.h"

namespace hotalloc::heapprof {
namespace {

// A page that is mapped and then unmapped: reading it fails.
uint64_t unmapped_address() {
  long page = sysconf(_SC_PAGESIZE);
  void* p = mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  munmap(p, page);
  return reinterpret_cast<uint64_t>(p);
}

TEST(ProcessMemory, ReadEachFillsEveryReadableRange) {
  std::array<uint64_t, 4> objects = {11, 22, 33, 44};
  uint64_t hole = unmapped_address();
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
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  waitpid(child, &status, 0);
  uint64_t v = 0, from = 7;
  std::vector<Range> ranges = {{reinterpret_cast<uint64_t>(&from), {reinterpret_cast<uint8_t*>(&v), 8}}};
  EXPECT_EQ(ProcessMemory(child).read_each(ranges), std::vector<bool>{false});
  EXPECT_EQ(v, 0u);
}

}  // namespace
}  // namespace hotalloc::heapprof
