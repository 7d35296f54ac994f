// --discover: which processes on the host are Go programs worth tracing.
//
// A process is a candidate when its executable carries Go build information
// (.go.buildinfo, which stripped binaries keep) and, with --match, when a
// pattern matches its comm, executable path, cgroup path or systemd unit.
// New processes are reported by the kernel's exec tracepoint (bpf/proc.bpf.c)
// and, as a fallback and to catch anything missed, by scanning /proc.
// Binaries are examined once per inode; processes once per (pid, start time)
// unless they exec again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "target/procfs.h"
#include "util/result.h"

namespace hotalloc::tracer {

// What --match patterns are compared with.
struct ProcessTraits {
  std::string comm;
  std::string exe;
  std::string cgroup;  // cgroup v2 path, "/system.slice/api.service"
  std::string unit;    // the systemd unit or scope the cgroup names, "api.service"; empty if none
};

// Reads ROOT/PID/cgroup: the unified (v2) hierarchy's path, or the
// name=systemd one on a v1 host.
std::string cgroup_path(const target::ProcFs& procfs, int pid);
// The innermost systemd unit in a cgroup path: "api.service" in
// "/system.slice/api.service", "" when there is none.
std::string unit_of(const std::string& cgroup);

class Discovery {
 public:
  // `patterns` are POSIX extended regexes, already validated by the config.
  Discovery(target::ProcFs procfs, const std::vector<std::string>& patterns);

  // A process to trace, or nothing: not a Go program, filtered out, a kernel
  // thread, gone, or already examined (unless `again`, after an exec).
  std::optional<target::ProcessIdentity> examine(int pid, bool again = false);

  // Every process not examined yet; forgets processes that are gone.
  std::vector<target::ProcessIdentity> scan();

  // The binary of this process cannot be traced: its later processes are
  // not proposed again (they would fail the same way).
  void refuse_binary(const target::ProcessIdentity& id);

  bool matches(const ProcessTraits& t) const;

 private:
  bool is_go(const target::ProcessIdentity& id);

  target::ProcFs procfs_;
  std::vector<std::regex> patterns_;
  std::map<int, uint64_t> examined_;       // pid -> start time
  std::map<target::FileId, bool> traceable_;    // Go and not refused
};

}  // namespace hotalloc::tracer
