// A file by device and inode: what an executable is known by, whatever path
// or mount namespace it was reached through.
#pragma once

#include <compare>
#include <cstdint>

namespace hotalloc::target {

struct FileId {
  uint64_t dev = 0, ino = 0;
  auto operator<=>(const FileId&) const = default;
};

}  // namespace hotalloc::target
