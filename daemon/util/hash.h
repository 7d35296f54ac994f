// Hashing for the composite keys of the tables updated at every collection
// ((pid, address) pairs, (pid, map, key hash) tuples): an unordered container
// with this hash does one probe per entry where an ordered one walks a tree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

namespace hotalloc {

struct CompositeHash {
  // Folds each field in with a multiply-xorshift step (the splitmix64
  // finalizer), so that keys differing only in the low bits of one field
  // (neighbouring pids or addresses) spread over the buckets.
  static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
  }
  // Any tuple-like key: std::pair or std::tuple of integers.
  template <typename Key>
  size_t operator()(const Key& key) const {
    return std::apply([](const auto&... field) {
      uint64_t h = 0;
      ((h = mix(h, static_cast<uint64_t>(field))), ...);
      return static_cast<size_t>(h);
    }, key);
  }
};

}  // namespace hotalloc
