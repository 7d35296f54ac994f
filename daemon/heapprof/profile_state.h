// Whether a target's heap profile can be shown, and if not, why, in words an
// operator can act on. The socket methods, hotallocctl and the metrics all
// say it the same way.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "heapprof/process_heap.h"

namespace hotalloc::heapprof {

struct ProfileState {
  // The lowest runtime.MemProfileRate among the processes that could be
  // read: 0 when one of them samples nothing; -1 when none could be read.
  int64_t rate = -1;
  std::vector<ProcessHeapPtr> sampling;  // the processes whose profile there is to show
  // Empty when every process is sampled and read; else why some or all are not.
  std::string message;
};

ProfileState profile_state(std::span<const ProcessHeapPtr> processes);

}  // namespace hotalloc::heapprof
