// How a user names what to trace: --pid PID or --exe [NAME=]PATH.
#pragma once

#include <string>

#include "util/result.h"

namespace hotalloc::tracer {

struct TargetSpec {
  enum class Kind { pid, exe };
  Kind kind = Kind::pid;
  int pid = 0;       // Kind::pid
  std::string path;  // Kind::exe
  std::string name;  // the target label; empty means the executable's basename

  std::string text() const;  // "pid:123", "exe:api=/usr/bin/api"
};

Result<TargetSpec> parse_pid_spec(const std::string& text);
Result<TargetSpec> parse_exe_spec(const std::string& text);

// The default target name for an executable path: its basename, without the
// " (deleted)" the kernel appends to replaced binaries.
std::string target_name_for(const std::string& exe_path);

}  // namespace hotalloc::tracer
