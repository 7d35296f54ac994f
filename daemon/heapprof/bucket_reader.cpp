#include "heapprof/bucket_reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <ranges>

namespace hotalloc::heapprof {
namespace {

constexpr uint64_t kHeaderBytes = 48;  // next, allnext, typ, hash, size, nstk
constexpr uint64_t kAllnext = 8, kTyp = 16, kSize = 32, kNstk = 40;
constexpr uint64_t kMemProfile = 1;  // runtime.memProfile, the bucketType of heap buckets
// A list longer than any real program's is a list read while corrupt (or not
// a bucket list at all): stop rather than walk forever.
constexpr size_t kMaxBuckets = 1 << 22;

uint64_t word(const uint8_t* p, uint64_t offset) {
  uint64_t v;
  std::memcpy(&v, p + offset, sizeof v);
  return v;
}

}  // namespace

BucketReader::BucketReader(std::unique_ptr<MemoryReader> memory, uint64_t mbuckets, uint64_t mem_profile_rate,
                           const target::GoVersion& go)
    : memory_(std::move(memory)),
      mbuckets_(mbuckets),
      rate_(mem_profile_rate),
      cycle_has_bytes_(!go.at_least(1, 27)),
      max_stack_(go.at_least(1, 23) ? 1024 : 32) {}

Status BucketReader::read_new_buckets(uint64_t head) {
  // New buckets are at the head, newest first, down to the newest we know.
  struct Fresh {
    uint64_t address;
    Bucket bucket;
    std::vector<uint64_t> stack;
  };
  std::vector<Fresh> fresh;
  std::unordered_set<uint64_t> seen;
  std::vector<uint8_t> header(kHeaderBytes);
  for (uint64_t b = head; b != 0 && !known_.contains(b);) {
    if (buckets_.size() + fresh.size() >= kMaxBuckets)
      return fail("more than {} heap profile buckets: not a bucket list", kMaxBuckets);
    if (!seen.insert(b).second) return fail("heap profile bucket list loops at {:#x}", b);
    Range r{b, header};
    if (auto st = memory_->read({&r, 1}); !st) return fail(st.error().context("heap profile bucket"));
    uint64_t nstk = word(header.data(), kNstk);
    if (word(header.data(), kTyp) != kMemProfile || nstk > max_stack_)
      return fail("heap profile bucket at {:#x} is malformed (type {}, {} frames)", b, word(header.data(), kTyp), nstk);
    Fresh f{b, {}, std::vector<uint64_t>(nstk)};
    f.bucket.size = word(header.data(), kSize);
    f.bucket.record = b + kHeaderBytes + 8 * nstk;
    fresh.push_back(std::move(f));
    b = word(header.data(), kAllnext);
  }
  if (fresh.empty()) return {};
  std::vector<Range> stacks;
  for (Fresh& f : fresh)
    if (!f.stack.empty())
      stacks.push_back({f.address + kHeaderBytes, {reinterpret_cast<uint8_t*>(f.stack.data()), f.stack.size() * 8}});
  if (auto st = memory_->read(stacks); !st) return fail(st.error().context("heap profile stacks"));
  for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
    it->bucket.stack = std::make_shared<const std::vector<uint64_t>>(std::move(it->stack));
    known_.insert(it->address);
    buckets_.push_back(std::move(it->bucket));
  }
  return {};
}

Result<HeapReading> BucketReader::read() {
  HeapReading out;
  uint64_t head = 0;
  std::array<Range, 2> globals{Range{rate_, {reinterpret_cast<uint8_t*>(&out.rate), 8}},
                               Range{mbuckets_, {reinterpret_cast<uint8_t*>(&head), 8}}};
  if (auto st = memory_->read(globals); !st) return fail(st.error().context("runtime.MemProfileRate, runtime.mbuckets"));
  if (auto st = read_new_buckets(head); !st) return fail(st.error());

  // memRecord: active, then the three future cycles.
  const uint64_t cycle = cycle_has_bytes_ ? 32 : 16;
  std::vector<uint8_t> records(buckets_.size() * cycle * 4);
  std::vector<Range> ranges;
  ranges.reserve(buckets_.size());
  for (size_t i = 0; i < buckets_.size(); i++)
    ranges.push_back({buckets_[i].record, {records.data() + i * cycle * 4, cycle * 4}});
  if (auto st = memory_->read(ranges); !st) return fail(st.error().context("heap profile records"));

  auto counts = [&](size_t i, int which, const Bucket& b) {
    const uint8_t* c = records.data() + i * cycle * 4 + which * cycle;
    BucketRecord r;
    r.alloc_objects = word(c, 0);
    r.free_objects = word(c, 8);
    r.alloc_bytes = cycle_has_bytes_ ? word(c, 16) : r.alloc_objects * b.size;
    r.free_bytes = cycle_has_bytes_ ? word(c, 24) : r.free_objects * b.size;
    return r;
  };
  // As runtime.MemProfile: when nothing is published yet (no GC has
  // completed), every cycle counts, so a program that never collects still
  // has a profile. The runtime folds them into `active` itself; this only reads.
  bool nothing_published = std::ranges::all_of(std::views::iota(size_t{0}, buckets_.size()), [&](size_t i) {
    BucketRecord a = counts(i, 0, buckets_[i]);
    return a.alloc_objects == 0 && a.free_objects == 0;
  });
  for (size_t i = 0; i < buckets_.size(); i++) {
    const Bucket& b = buckets_[i];
    BucketRecord r = counts(i, 0, b);
    for (int f = 1; nothing_published && f <= 3; f++) {
      BucketRecord fut = counts(i, f, b);
      r.alloc_objects += fut.alloc_objects;
      r.free_objects += fut.free_objects;
      r.alloc_bytes += fut.alloc_bytes;
      r.free_bytes += fut.free_bytes;
    }
    if (r.alloc_objects == 0) continue;  // nothing to show yet
    r.stack = b.stack;
    r.object_size = b.size;
    out.records.push_back(std::move(r));
  }
  return out;
}

}  // namespace hotalloc::heapprof
