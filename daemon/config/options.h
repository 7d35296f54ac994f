// hotallocd's settings. Each is declared once, in options.cpp's table, which
// gives it a flag (--NAME), a key in the config file (--config, TOML: NAME
// with dots as tables) and its validation. Flags win over the file; a reload
// (SIGHUP) re-reads the file and keeps the flags given at start.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/setting.h"
#include "util/result.h"

namespace hotalloc::config {

struct Options {
  // What to trace.
  std::vector<int> pids;          // pid
  std::vector<std::string> exes;  // exe: [NAME=]PATH
  bool discover = false;          // discover: every Go process
  std::vector<std::string> match;  // match: regexes over comm, exe, cgroup and systemd unit
  // HTTP.
  std::string listen_address = ":17911";
  std::string telemetry_path = "/metrics";
  // Logging.
  std::string log_level = "info";
  std::string log_format = "logfmt";
  // The query socket and its limits.
  std::string socket_path = "/run/hotalloc/hotalloc.sock";
  std::string socket_group = "hotalloc";
  uint32_t socket_max_clients = 64;
  uint32_t socket_max_request_bytes = 1 << 20;
  std::chrono::milliseconds socket_idle_timeout{60'000};
  std::vector<uint32_t> admin_uids;
  // Collection.
  uint32_t collect_interval_ms = 1000;
  // Go maps.
  std::string map_inserts = "off";     // map-inserts: off, on or a duty cycle like 200ms/10s
  uint32_t metrics_hot_keys = 5;       // metrics.hot-keys: key series per map, 0 for none
  uint32_t metrics_hot_maps = 5;       // metrics.hot-maps: maps with key series
  bool metrics_redact_keys = false;    // metrics.redact-hot-keys (--metrics.hot-keys.redact)

  std::chrono::milliseconds collect_interval() const { return std::chrono::milliseconds(collect_interval_ms); }
};

// Every setting, in --help order.
const std::vector<Setting>& settings();

// The command line as given: the config file to read and the flags' raw
// values, kept so that a reload applies them over the re-read file again.
struct CommandLine {
  std::optional<std::string> config_path;
  bool check_only = false;  // --check-config: validate, print the result, exit
  std::map<std::string, std::vector<std::string>> flags;  // setting name -> values
};

// Parses argv. Returns the exit code to use when the process should stop
// right away (--help, --version, a usage error), else -1. `version` is what
// --version prints.
int parse_command_line(int argc, char** argv, const std::string& version, CommandLine& out);

// Defaults, then the config file, then the flags, each value checked. An
// error names the file, line and key, or the flag, and what is wrong.
Result<Options> resolve(const CommandLine& cli);

// Reads a config file's settings into `o` over what it holds; apply_text
// reads them from TEXT, naming it NAME in errors.
Status apply_file(const std::string& path, Options& o);
Status apply_text(std::string_view text, const std::string& name, Options& o);

// The settings whose values differ.
std::vector<const Setting*> changed_settings(const Options& a, const Options& b);

}  // namespace hotalloc::config
