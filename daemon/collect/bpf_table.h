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

// Every entry of the hash behind `fd`; a failure other than the end of the
// table is logged and ends the read with what was read so far, and sets
// `*complete` (when given) to false: an entry missing from such a read is
// not gone.
template <typename K, typename V>
std::vector<std::pair<K, V>> read_all(int fd, bool* complete = nullptr) {
  constexpr uint32_t kBatch = 1024;
  std::vector<std::pair<K, V>> out;
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

}  // namespace hotalloc::collect
