// Reading a whole BPF hash table from userspace, in batches: the per-map,
// per-key and per-call-site counters are LRU hashes the collector polls.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <bpf/bpf.h>

#include "util/log.h"

namespace hotalloc::collect {

// Every entry of the hash behind `fd`. `*complete` (when given) says whether
// the read reached the end of the table; a failure before that is logged and
// ends the read with what was read so far, and an entry missing from such a
// read is not gone.
template <typename K, typename V>
std::vector<std::pair<K, V>> read_all(int fd, bool* complete = nullptr) {
  constexpr uint32_t kBatch = 1024;
  std::vector<std::pair<K, V>> out;
  out.reserve(kBatch);
  std::vector<K> keys(kBatch);
  std::vector<V> values(kBatch);
  uint64_t token_in = 0, token_out = 0;
  bool first = true;
  for (;;) {
    uint32_t count = kBatch;
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &token_in, &token_out, keys.data(), values.data(), &count,
                                   nullptr);
    int e = err ? errno : 0;
    for (uint32_t i = 0; i < count; i++) out.emplace_back(keys[i], values[i]);
    if (err) {
      if (e != ENOENT) logging::get("collect")->warn("reading a BPF map: {}", strerror(e));
      if (complete) *complete = e == ENOENT;
      break;
    }
    token_in = token_out;
    first = false;
  }
  return out;
}

// Evictions from an LRU hash that the BPF side adds to, counting each entry
// it adds (HA_STAT_*_ADDED), and that this daemon deletes from. The kernel
// evicts without a trace, but every entry ever added is held, was deleted
// here, or was evicted: also one added and evicted between two reads.
class EvictionCount {
 public:
  // After a complete read that found `held` entries, with `added` read
  // before it: the evictions not counted yet. An entry added during the
  // read may be held but not yet added, so the figure can lag a read,
  // never run ahead.
  uint64_t uncounted(uint64_t added, size_t held) {
    uint64_t accounted = held + deleted_ + counted_;
    if (added <= accounted) return 0;
    counted_ = added - held - deleted_;
    return added - accounted;
  }
  // Evictions the reader saw and counted itself (entries gone between two reads).
  void counted(uint64_t n) { counted_ += n; }
  // An entry this daemon deleted.
  void deleted() { deleted_++; }

 private:
  uint64_t deleted_ = 0, counted_ = 0;
};

}  // namespace hotalloc::collect
