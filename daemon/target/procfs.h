// Access to /proc, under a root that tests point at fixture trees (and that
// a containerised daemon points at the host's /proc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "target/file_id.h"
#include "util/result.h"

namespace hotalloc::target {

// A process as hotalloc identifies it: (pid, start_time) is unique over the
// host's uptime, where a pid alone is reused.
struct ProcessIdentity {
  int pid = 0;
  uint64_t start_time = 0;  // field 22 of /proc/PID/stat, clock ticks after boot
  std::string exe_path;     // readlink of /proc/PID/exe, may end in " (deleted)"; empty for kernel threads
  FileId exe;               // stat of /proc/PID/exe: the executable's inode, which uprobes attach to
  std::string comm;
};

class ProcFs {
 public:
  explicit ProcFs(std::string root = "/proc");

  const std::string& root() const { return root_; }

  // Fails with "process N does not exist" when it is gone (or never was).
  Result<ProcessIdentity> identity(int pid) const;
  // Numeric entries of the root, ascending.
  std::vector<int> pids() const;
  // ROOT/PID/exe: what uprobes attach to, so a target in another mount
  // namespace is reached through its own view of the file.
  std::string exe_link(int pid) const;

 private:
  std::string root_;
};

}  // namespace hotalloc::target
