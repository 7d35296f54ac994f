// Space-Saving (Metwally, Agrawal, El Abbadi 2005): the heaviest keys of a
// stream in bounded memory. With capacity m, every key whose true count is
// above total/m is kept, and each kept count overestimates the true one by
// at most its `error` (the count it inherited when it took an evicted
// key's slot). Keys are the kernel's 64-bit key hashes; what a key looks
// like travels with it as a label.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace hotalloc::model {

class SpaceSaving {
 public:
  struct Entry {
    uint64_t key = 0;
    std::string label;
    uint64_t count = 0;
    uint64_t error = 0;  // count may exceed the true count by at most this
  };

  explicit SpaceSaving(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Adds `n` occurrences of `key`. The label is kept from the key's first sight.
  void add(uint64_t key, uint64_t n, const std::string& label);

  // Scales every count and error by `factor` (0..1): older occurrences weigh
  // less, so keys that stopped arriving give way to new ones. Entries that
  // fall to zero are dropped.
  void decay(double factor);

  // The `n` largest counts, largest first (ties by key, for stable output).
  std::vector<Entry> top(size_t n) const;
  // The count of `key`, 0 when not kept.
  uint64_t count(uint64_t key) const;
  // The label `key` was kept with; null when not kept.
  const std::string* label(uint64_t key) const;

  uint64_t total() const { return total_; }          // all occurrences added (decayed)
  uint64_t evictions() const { return evictions_; }  // keys that lost their slot
  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::vector<Entry> entries_;
  std::unordered_map<uint64_t, size_t> index_;  // key -> position in entries_
  uint64_t total_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace hotalloc::model
