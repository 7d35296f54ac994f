#include "target/binary_cache.h"

#include <sys/stat.h>

#include <cerrno>

namespace hotalloc::target {

Result<BinaryCache::Entry> BinaryCache::open(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return fail_errno(errno, "stat " + path);
  FileId id{st.st_dev, st.st_ino};
  std::lock_guard lock(mu_);
  std::erase_if(loaded_, [](const auto& kv) { return kv.second.expired(); });
  if (auto it = loaded_.find(id); it != loaded_.end())
    if (auto bin = it->second.lock()) return Entry{id, std::move(bin)};
  auto bin = GoBinary::open(path);
  if (!bin) return fail(bin.error());
  // Filed under the file actually parsed: the path may have been replaced
  // (a rename, an exec through /proc/PID/exe) since the stat above.
  id = *(*bin)->elf().file();
  loaded_[id] = *bin;
  return Entry{id, std::move(*bin)};
}

}  // namespace hotalloc::target
