// Reads the Go runtime's memory-profile buckets out of a live process, the
// way runtime.MemProfile would report them, without writing anything.
//
// The runtime keeps one bucket per (call stack, object size) in a list that
// only grows at its head (runtime.mbuckets, linked through allnext), and
// never frees one. A bucket is
//
//   next, allnext *bucket; typ int; hash, size, nstk uintptr  (48 bytes)
//   stk [nstk]uintptr
//   memRecord{ active memRecordCycle; future [3]memRecordCycle }
//
// with memRecordCycle{allocs, frees, alloc_bytes, free_bytes uintptr}, or
// from Go 1.27 {allocs, frees} with bytes = count * size. `active` is what
// the runtime publishes: allocations and frees as of the last completed GC
// cycle (futures are folded in at mark termination and after sweeping).
// Stacks never change, so each bucket's header and stack are read once;
// every read after that fetches only the records, in batches.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "heapprof/process_heap.h"
#include "heapprof/process_memory.h"
#include "target/go_version.h"
#include "util/result.h"

namespace hotalloc::heapprof {

struct HeapReading {
  int64_t rate = 0;
  std::vector<BucketRecord> records;
};

class BucketReader {
 public:
  // Addresses are runtime addresses (link address plus load bias).
  BucketReader(std::unique_ptr<MemoryReader> memory, uint64_t mbuckets, uint64_t mem_profile_rate,
               const target::GoVersion& go);

  Result<HeapReading> read();

 private:
  struct Bucket {
    std::shared_ptr<const std::vector<uint64_t>> stack;
    uint64_t size = 0;
    uint64_t record = 0;  // address of its memRecord
  };
  Status read_new_buckets(uint64_t head);

  std::unique_ptr<MemoryReader> memory_;
  uint64_t mbuckets_;
  uint64_t rate_;
  bool cycle_has_bytes_;  // before Go 1.27
  uint64_t max_stack_;    // the runtime's bound on nstk
  std::vector<Bucket> buckets_;  // oldest first: the runtime's list reversed
  std::unordered_set<uint64_t> known_;
};

}  // namespace hotalloc::heapprof
