#include "heapprof/symbolizer.h"

namespace hotalloc::heapprof {
namespace {

// Bounds the cache against a binary whose profile keeps naming new
// addresses; past it the cache starts over.
constexpr size_t kMaxCachedPcs = 1 << 20;

}  // namespace

std::shared_ptr<const Frames> Symbolizer::frames_of_return(uint64_t return_pc) const {
  std::lock_guard lock(mu_);
  if (auto it = cache_.find(return_pc); it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedPcs) cache_.clear();
  auto frames = std::make_shared<const Frames>(binary_->pclntab().frames_for_pc(return_pc - 1));
  cache_.emplace(return_pc, frames);
  return frames;
}

std::shared_ptr<const Symbolizer> SymbolizerCache::get(const std::shared_ptr<const target::GoBinary>& binary) {
  std::string key = binary->elf().build_id();
  if (key.empty()) key = "path:" + binary->elf().path();
  std::lock_guard lock(mu_);
  std::erase_if(by_build_, [](const auto& kv) { return kv.second.expired(); });
  auto& slot = by_build_[key];
  auto s = slot.lock();
  if (!s) slot = s = std::make_shared<const Symbolizer>(binary);
  return s;
}

}  // namespace hotalloc::heapprof
