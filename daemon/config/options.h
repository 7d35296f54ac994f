// hotallocd's command line. Every setting has a flag; the config file
// (--config) uses the same names.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace hotalloc::config {

struct Options {
  std::vector<std::string> pids;  // --pid, repeatable
  std::vector<std::string> exes;  // --exe [NAME=]PATH, repeatable
  std::string listen_address = ":17911";
  std::string telemetry_path = "/metrics";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::string socket_path = "/run/hotalloc/hotalloc.sock";
  std::string socket_group = "hotalloc";
  std::vector<unsigned> admin_uids;
  std::chrono::milliseconds collect_interval{1000};
};

// Parses argv. Returns the exit code to use when the process should stop
// right away (--help, --version, a usage error), else -1. `version` is what
// --version prints.
int parse_command_line(int argc, char** argv, const std::string& version, Options& out);

}  // namespace hotalloc::config
