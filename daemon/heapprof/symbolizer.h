// Source positions of return addresses in one Go binary, from its
// .gopclntab (inline trees included), so stripped binaries symbolize too.
// One Symbolizer per build, shared by all its processes, with the frames of
// every pc it has resolved cached: a heap profile names the same few
// thousand addresses at every read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "target/go_binary.h"

namespace hotalloc::heapprof {

using Frames = std::vector<target::SourceLine>;  // innermost inlined frame first

class Symbolizer {
 public:
  explicit Symbolizer(std::shared_ptr<const target::GoBinary> binary) : binary_(std::move(binary)) {}

  // The frames of the call that returns to `return_pc` (a link-time
  // address): the instruction before it. Empty when it is in no function.
  // Thread-safe.
  std::shared_ptr<const Frames> frames_of_return(uint64_t return_pc) const;

  const target::GoBinary& binary() const { return *binary_; }

 private:
  std::shared_ptr<const target::GoBinary> binary_;
  mutable std::mutex mu_;
  mutable std::unordered_map<uint64_t, std::shared_ptr<const Frames>> cache_;
};

// One Symbolizer per build id (else per path), so that the same build run
// from several paths (containers) resolves and caches once, for every
// reader (one cache per daemon). Held weakly, like BinaryCache: a build
// whose processes are all gone is freed, binary and all.
class SymbolizerCache {
 public:
  std::shared_ptr<const Symbolizer> get(const std::shared_ptr<const target::GoBinary>& binary);

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<const Symbolizer>> by_build_;
};

}  // namespace hotalloc::heapprof
