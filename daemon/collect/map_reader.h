// Reads what the map probes counted: per-map counters (map_stats) and
// per-key insert counts (hot_keys), both cumulative LRU hashes polled in
// batches, and the map ring events (growth episodes, GC cycles, large
// allocations, reused map addresses). New maps get their identity resolved
// once (creation site from .gopclntab; for the maps the model lists, key
// and element types from the process's type data) and listed heap maps
// their current shape read from the process. Entries that vanish from the kernel tables without the daemon
// deleting them were evicted: counted exactly, from the kernel's count of
// entries added (even those added and evicted between two polls).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "bpf/hotalloc.h"
#include "collect/bpf_table.h"
#include "model/maps.h"
#include "collect/map_symbols.h"
#include "heapprof/symbolizer.h"
#include "target/binary_cache.h"
#include "target/procfs.h"
#include "util/hash.h"

namespace hotalloc::collect {

class MapReader {
 public:
  // `stat_total` reads one of the BPF side's counters (the entries it
  // added to each table, for EvictionCount).
  MapReader(int map_stats_fd, int hot_keys_fd, std::function<uint64_t(ha_stat)> stat_total, model::MapModel& model,
            target::BinaryCache& binaries, heapprof::SymbolizerCache& symbolizers, target::ProcFs procfs);

  void poll();
  // Applies a reused address at once (before the poll that sees the new
  // map there); timeline events are added at the next poll.
  // `reused`: the last counts, for HA_MEV_MAP_REUSED.
  void on_event(const ha_event_map& ev, const ha_map_stats* reused);
  // Forgets the process and frees its kernel entries.
  void process_exited(int pid);
  // The process's symbols (sites, types), opened on first use; null when
  // they cannot be read. Shared with the slice reader.
  MapSymbols* symbols(int pid);

 private:
  using MapKey = std::pair<int, uint64_t>;               // (pid, map)
  using HotKeyId = std::tuple<int, uint64_t, uint64_t>;  // (pid, map, key hash)

  // Who the map is: its creation site, and with `with_types` its key and
  // element types (read from the process); cached per (pid, site, type).
  const model::MapIdentity& identity(int pid, MapSymbols& sym, const ha_map_stats& st, bool with_types);
  // The current shapes of one process's heap maps (unknown where unreadable).
  std::vector<model::MapShape> shapes(MapSymbols& sym, std::span<const uint64_t> maps);
  void poll_maps(int64_t now_ms);
  void poll_keys();
  int64_t unix_ms(uint64_t ktime_ns) const;

  int map_stats_fd_;
  int hot_keys_fd_;
  std::function<uint64_t(ha_stat)> stat_total_;
  model::MapModel& model_;
  target::BinaryCache& binaries_;
  heapprof::SymbolizerCache& symbolizers_;
  target::ProcFs procfs_;
  std::map<int, std::unique_ptr<MapSymbols>> processes_;
  std::set<int> unreadable_;  // pids whose symbols could not be opened
  // The kernel's entries as of the polls that read them, updated in place;
  // `poll` is the last poll that found the entry. After a complete read,
  // those the poll did not find are gone.
  struct SeenMap {
    uint64_t activity = 0;       // a sum of its counters: changes when any does
    int64_t shape_read_ms = 0;   // its last full update (and shape read)
    uint64_t poll = 0;
    bool listed = true;          // the model listed it at its last full update
  };
  struct SeenKey {
    uint64_t count = 0;
    uint64_t poll = 0;
  };
  std::unordered_map<MapKey, SeenMap, CompositeHash> seen_maps_;
  // (pid, site pc, maptype or 0) -> identity; a process's go when it exits.
  std::unordered_map<std::tuple<int, uint64_t, uint64_t>, model::MapIdentity, CompositeHash> identities_;
  std::unordered_map<HotKeyId, SeenKey, CompositeHash> seen_keys_;
  uint64_t polls_ = 0;
  EvictionCount map_evictions_, key_evictions_;
  std::map<int, uint64_t> gc_started_;  // pid -> ktime of its last gcStart
  // Timeline events wait for the poll after them, which knows their maps.
  std::vector<std::pair<model::TimelineEvent, uint64_t>> pending_;
  int64_t realtime_minus_monotonic_ns_ = 0;
};

}  // namespace hotalloc::collect
