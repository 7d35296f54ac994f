// Reading another process's memory without stopping or touching it:
// process_vm_readv (needs CAP_SYS_PTRACE, or the same uid under the Yama
// ptrace scope). Read-only by construction; hotalloc never writes a target.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <vector>

#include "util/result.h"

namespace hotalloc::heapprof {

struct Range {
  uint64_t address = 0;
  std::span<uint8_t> into;
};

class MemoryReader {
 public:
  virtual ~MemoryReader() = default;
  // Fills every range, or fails naming the first that could not be read whole.
  virtual Status read(std::span<const Range> ranges) = 0;
};

class ProcessMemory final : public MemoryReader {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid) {}
  // Batches the ranges, up to IOV_MAX per system call.
  Status read(std::span<const Range> ranges) override;
  // Fills every range it can, for reads of many independent objects (one
  // dead map must not cost the others their shapes): whether each range
  // was filled whole. One more system call per range that is not mapped.
  std::vector<bool> read_each(std::span<const Range> ranges);

 private:
  pid_t pid_;
};

}  // namespace hotalloc::heapprof
