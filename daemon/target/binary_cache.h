// The Go binaries the daemon has open, one per file, shared by everything
// that reads them: the probe planner, the map and slice readers, the heap
// profiler. A binary is megabytes of function tables; ten services must not
// cost twenty loads. Held weakly: a binary no one uses any more is freed.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "target/go_binary.h"
#include "target/procfs.h"
#include "util/result.h"

namespace hotalloc::target {

class BinaryCache {
 public:
  struct Entry {
    FileId id;
    std::shared_ptr<const GoBinary> binary;
  };
  // The binary at `path`: the one already loaded for that file while anyone
  // holds it, else read now (GoBinary::open's checks and errors).
  // Thread-safe.
  Result<Entry> open(const std::string& path);

 private:
  std::mutex mu_;
  std::map<FileId, std::weak_ptr<const GoBinary>> loaded_;
};

}  // namespace hotalloc::target
