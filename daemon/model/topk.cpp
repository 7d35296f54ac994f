#include "model/topk.h"

#include <algorithm>
#include <cmath>

namespace hotalloc::model {

void SpaceSaving::add(uint64_t key, uint64_t n, const std::string& label) {
  if (n == 0) return;
  total_ += n;
  if (auto it = index_.find(key); it != index_.end()) {
    entries_[it->second].count += n;
    return;
  }
  if (entries_.size() < capacity_) {
    index_.emplace(key, entries_.size());
    entries_.push_back(Entry{key, label, n, 0});
    return;
  }
  // The minimum is found by a scan: capacities are small (hundreds) and a
  // new key arrives far less often than a kept one in the skewed streams
  // this is for.
  auto min = std::min_element(entries_.begin(), entries_.end(),
                              [](const Entry& a, const Entry& b) { return a.count < b.count; });
  evictions_++;
  index_.erase(min->key);
  uint64_t inherited = min->count;
  *min = Entry{key, label, inherited + n, inherited};
  index_.emplace(key, static_cast<size_t>(min - entries_.begin()));
}

void SpaceSaving::decay(double factor) {
  total_ = static_cast<uint64_t>(std::llround(static_cast<double>(total_) * factor));
  std::erase_if(entries_, [factor](Entry& e) {
    e.count = static_cast<uint64_t>(std::llround(static_cast<double>(e.count) * factor));
    e.error = std::min(e.count, static_cast<uint64_t>(std::llround(static_cast<double>(e.error) * factor)));
    return e.count == 0;
  });
  index_.clear();
  for (size_t i = 0; i < entries_.size(); i++) index_.emplace(entries_[i].key, i);
}

std::vector<SpaceSaving::Entry> SpaceSaving::top(size_t n) const {
  std::vector<Entry> out = entries_;
  auto by_count = [](const Entry& a, const Entry& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  };
  if (n < out.size()) {
    std::partial_sort(out.begin(), out.begin() + static_cast<ptrdiff_t>(n), out.end(), by_count);
    out.resize(n);
  } else {
    std::sort(out.begin(), out.end(), by_count);
  }
  return out;
}

const std::string* SpaceSaving::label(uint64_t key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].label;
}

uint64_t SpaceSaving::count(uint64_t key) const {
  auto it = index_.find(key);
  return it == index_.end() ? 0 : entries_[it->second].count;
}

}  // namespace hotalloc::model
