// How a user names what to trace: --pid PID, --exe [NAME=]PATH, or a process
// --discover found.
#pragma once

#include <string>

#include "util/result.h"

namespace hotalloc::tracer {

struct TargetSpec {
  enum class Kind { pid, exe, discovered };
  Kind kind = Kind::pid;
  int pid = 0;       // Kind::pid and Kind::discovered
  std::string path;  // Kind::exe
  std::string name;  // the target label; empty means the executable's basename

  std::string text() const;  // "pid:123", "exe:api=/usr/bin/api", "discover"
};

TargetSpec pid_spec(int pid);
TargetSpec discovered_spec(int pid);
Result<TargetSpec> parse_exe_spec(const std::string& text);

// The default target name for an executable path: its basename, without the
// " (deleted)" the kernel appends to replaced binaries.
std::string target_name_for(const std::string& exe_path);

}  // namespace hotalloc::tracer
