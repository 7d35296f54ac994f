// One process's sampled heap profile, as the Go runtime itself publishes it
// (runtime.MemProfile): per bucket (call stack and object size), the sampled
// allocations and frees as of the last completed GC cycle. Allocations count
// from the process's start, including those before hotalloc attached.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "heapprof/symbolizer.h"

namespace hotalloc::heapprof {

struct BucketRecord {
  // Return addresses as the runtime recorded them (runtime addresses),
  // innermost first; inlined calls have a pseudo-address of their own.
  std::shared_ptr<const std::vector<uint64_t>> stack;
  uint64_t object_size = 0;
  uint64_t alloc_objects = 0;
  uint64_t alloc_bytes = 0;
  uint64_t free_objects = 0;
  uint64_t free_bytes = 0;
};

struct ProcessHeap {
  int pid = 0;
  std::string exe;
  // runtime.MemProfileRate when read: the runtime samples one allocation
  // per `rate` bytes on average; 0 means it samples nothing.
  int64_t rate = 0;
  // False when the linker turned heap profiling off (nothing in the program
  // reads it); the rate is then 0 from the start.
  bool linked = true;
  std::string reader_function;  // the function whose absence says so
  uint64_t load_bias = 0;       // runtime address minus link address (PIE)
  uint64_t text_start = 0, text_end = 0;  // link addresses of Go text, for the pprof mapping
  std::shared_ptr<const Symbolizer> symbols;
  std::vector<BucketRecord> records;
  std::string error;  // why the profile could not be read; records are then empty
};

using ProcessHeapPtr = std::shared_ptr<const ProcessHeap>;

}  // namespace hotalloc::heapprof
