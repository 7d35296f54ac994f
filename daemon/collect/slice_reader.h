// Reads what the growslice probes counted (slice_sites: cumulative counters
// per process and append call site, an LRU hash) into the slice model,
// resolving each new call site once: function and file:line through the
// binary's .gopclntab, the element type from the process's type data.
#pragma once

#include <functional>

#include "collect/map_symbols.h"
#include "model/slices.h"

namespace hotalloc::collect {

class SliceReader {
 public:
  // `symbols` opens (or finds) a process's symbols; null when unreadable.
  SliceReader(int slice_sites_fd, model::SliceModel& model, std::function<MapSymbols*(int pid)> symbols);

  void poll();
  // A last read of the process's sites, then their kernel entries are freed.
  void process_exited(int pid);

 private:
  int fd_;
  model::SliceModel& model_;
  std::function<MapSymbols*(int)> symbols_;
};

}  // namespace hotalloc::collect
