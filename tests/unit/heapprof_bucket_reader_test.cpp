// The runtime's memory-profile buckets read the way runtime.MemProfile
// reports them, from a fake address space laid out like the runtime's.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "heapprof/bucket_reader.h"

namespace hotalloc::heapprof {
namespace {

// Word-addressed memory; reading anything not written fails, like an
// unmapped page.
class FakeMemory final : public MemoryReader {
 public:
  void put(uint64_t addr, uint64_t value) { words_[addr] = value; }
  Status read(std::span<const Range> ranges) override {
    reads++;
    for (const Range& r : ranges)
      for (size_t off = 0; off < r.into.size(); off += 8) {
        auto it = words_.find(r.address + off);
        if (it == words_.end()) return fail("{:#x} not mapped", r.address + off);
        std::memcpy(r.into.data() + off, &it->second, 8);
      }
    return {};
  }
  int reads = 0;

 private:
  std::map<uint64_t, uint64_t> words_;
};

constexpr uint64_t kRate = 0x1000, kHead = 0x1008;

struct Cycle {
  uint64_t allocs = 0, frees = 0, alloc_bytes = 0, free_bytes = 0;
};

// Lays out one bucket at `at`, linked to `next_in_list`; `cycles` are
// active then the three futures.
void put_bucket(FakeMemory& m, uint64_t at, uint64_t next_in_list, uint64_t size, std::vector<uint64_t> stack,
                std::array<Cycle, 4> cycles, bool with_bytes = true) {
  m.put(at, 0);                 // next (hash chain)
  m.put(at + 8, next_in_list);  // allnext
  m.put(at + 16, 1);            // typ: memProfile
  m.put(at + 24, 0xabc);        // hash
  m.put(at + 32, size);
  m.put(at + 40, stack.size());
  uint64_t p = at + 48;
  for (uint64_t pc : stack) {
    m.put(p, pc);
    p += 8;
  }
  for (const Cycle& c : cycles) {
    m.put(p, c.allocs);
    m.put(p + 8, c.frees);
    p += 16;
    if (!with_bytes) continue;
    m.put(p, c.alloc_bytes);
    m.put(p + 8, c.free_bytes);
    p += 16;
  }
}

// Memory holding runtime.MemProfileRate and the head of runtime.mbuckets.
std::unique_ptr<FakeMemory> with_globals(uint64_t rate, uint64_t head) {
  auto m = std::make_unique<FakeMemory>();
  m->put(kRate, rate);
  m->put(kHead, head);
  return m;
}

target::GoVersion go(int minor) { return *target::GoVersion::parse(fmt::format("go1.{}.1", minor)); }

TEST(BucketReader, ReportsThePublishedCycleOfEveryBucket) {
  auto mem = with_globals(524288, 0x3000);
  FakeMemory& m = *mem;
  put_bucket(m, 0x3000, 0x2000, 64, {0x401000, 0x402000}, {Cycle{10, 4, 640, 256}, Cycle{5, 0, 320, 0}});
  put_bucket(m, 0x2000, 0, 4096, {0x403000}, {Cycle{3, 3, 12288, 12288}});
  BucketReader reader(std::move(mem), kHead, kRate, go(26));

  auto r = reader.read();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rate, 524288);
  ASSERT_EQ(r->records.size(), 2u);
  // Oldest first; only `active` counts while some cycle has been published.
  EXPECT_EQ(*r->records[0].stack, (std::vector<uint64_t>{0x403000}));
  EXPECT_EQ(r->records[0].alloc_objects, 3u);
  EXPECT_EQ(r->records[0].free_bytes, 12288u);
  EXPECT_EQ(r->records[1].object_size, 64u);
  EXPECT_EQ(r->records[1].alloc_objects, 10u);
  EXPECT_EQ(r->records[1].free_objects, 4u);
  EXPECT_EQ(r->records[1].alloc_bytes, 640u);
  EXPECT_EQ(r->records[1].free_bytes, 256u);
}

TEST(BucketReader, ReadsStacksOnceAndNewBucketsAtTheHead) {
  auto mem = with_globals(512, 0x2000);
  FakeMemory& m = *mem;
  put_bucket(m, 0x2000, 0, 8, {0x401000}, {Cycle{1, 0, 8, 0}});
  BucketReader reader(std::move(mem), kHead, kRate, go(22));
  ASSERT_TRUE(reader.read());
  int after_first = m.reads;
  ASSERT_TRUE(reader.read());
  // Globals and records only: the bucket's header and stack are known.
  EXPECT_EQ(m.reads - after_first, 2);

  put_bucket(m, 0x5000, 0x2000, 16, {0x404000, 0x405000}, {Cycle{2, 1, 32, 16}});
  m.put(kHead, 0x5000);
  auto r = reader.read();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->records.size(), 2u);
  EXPECT_EQ(*r->records[1].stack, (std::vector<uint64_t>{0x404000, 0x405000}));
  EXPECT_EQ(r->records[1].free_bytes, 16u);
}

TEST(BucketReader, BeforeAnyGcEveryCycleCounts) {
  auto mem = with_globals(512, 0x2000);
  FakeMemory& m = *mem;
  // Nothing published yet: like runtime.MemProfile, fold the futures in.
  put_bucket(m, 0x2000, 0, 32, {0x401000}, {Cycle{}, Cycle{1, 0, 32, 0}, Cycle{}, Cycle{2, 1, 64, 32}});
  BucketReader reader(std::move(mem), kHead, kRate, go(26));
  auto r = reader.read();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].alloc_objects, 3u);
  EXPECT_EQ(r->records[0].free_bytes, 32u);
}

TEST(BucketReader, Go127CountsObjectsAndDerivesBytes) {
  auto mem = with_globals(512, 0x2000);
  FakeMemory& m = *mem;
  put_bucket(m, 0x2000, 0, 48, {0x401000}, {Cycle{7, 2}}, /*with_bytes=*/false);
  BucketReader reader(std::move(mem), kHead, kRate, go(27));
  auto r = reader.read();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].alloc_bytes, 7u * 48);
  EXPECT_EQ(r->records[0].free_bytes, 2u * 48);
}

TEST(BucketReader, RefusesWhatIsNotAHeapBucket) {
  auto mem = with_globals(512, 0x2000);
  FakeMemory& m = *mem;
  put_bucket(m, 0x2000, 0, 8, {0x401000}, {Cycle{1, 0, 8, 0}});
  m.put(0x2000 + 16, 2);  // a block-profile bucket
  BucketReader reader(std::move(mem), kHead, kRate, go(26));
  auto r = reader.read();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("malformed"), std::string::npos) << r.error().message;

  auto unmapped = std::make_unique<FakeMemory>();
  unmapped->put(kRate, 512);
  BucketReader none(std::move(unmapped), kHead, kRate, go(26));
  EXPECT_FALSE(none.read());
}

}  // namespace
}  // namespace hotalloc::heapprof
