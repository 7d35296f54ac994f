// Reads what the growslice probes counted (slice_sites: cumulative counters
// per process and append call site, an LRU hash) into the slice model,
// resolving each new call site once: function and file:line through the
// binary's .gopclntab, the element type from the process's type data.
#pragma once

#include <functional>

#include "bpf/hotalloc.h"
#include "collect/bpf_table.h"
#include "collect/map_symbols.h"
#include "model/slices.h"

namespace hotalloc::collect {

class SliceReader {
 public:
  // `stat_total` reads the BPF side's counters (entries it added, for
  // EvictionCount); `symbols` opens (or finds) a process's symbols, null when
  // unreadable.
  SliceReader(int slice_sites_fd, std::function<uint64_t(ha_stat)> stat_total, model::SliceModel& model,
              std::function<MapSymbols*(int pid)> symbols);

  void poll() { read(-1); }
  // A last read of the process's sites, then their kernel entries are freed.
  void process_exited(int pid) { read(pid); }

 private:
  // Reads every entry into the model; then frees those of `exited_pid`.
  void read(int exited_pid);

  int fd_;
  std::function<uint64_t(ha_stat)> stat_total_;
  model::SliceModel& model_;
  std::function<MapSymbols*(int)> symbols_;
  EvictionCount evictions_;
};

}  // namespace hotalloc::collect
