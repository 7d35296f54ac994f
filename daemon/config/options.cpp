#include "config/options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>


namespace hotalloc::config {

int parse_command_line(int argc, char** argv, const std::string& version, Options& o) {
  CLI::App app{"hotallocd - watches running Go programs with eBPF and shows where their allocations go"};
  app.footer(
      "Examples:\n"
      "  hotallocd --pid 4242\n"
      "  hotallocd --exe api=/usr/local/bin/api-server --web.listen-address=127.0.0.1:17911\n");
  app.set_version_flag("--version", version);
  app.add_option("--pid", o.pids, "Trace this process (repeatable)")->type_name("PID");
  app.add_option("--exe", o.exes,
                 "Trace every process running this executable, now and later; NAME is the target label "
                 "(default: the file's basename) (repeatable)")
      ->type_name("[NAME=]PATH");
  app.add_option("--web.listen-address", o.listen_address, "Address for /metrics and the health endpoints")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", o.telemetry_path, "Path of the metrics endpoint")->capture_default_str();
  app.add_option("--log.level", o.log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--log.format", o.log_format, "logfmt or json")->capture_default_str();
  app.add_option("--socket", o.socket_path, "Unix socket for hotallocctl")->capture_default_str();
  app.add_option("--socket.group", o.socket_group, "Group allowed to query the socket")->capture_default_str();
  app.add_option("--admin-uid", o.admin_uids, "Uid allowed admin methods besides root (repeatable)")
      ->type_name("UID");
  int interval_ms = static_cast<int>(o.collect_interval.count());
  app.add_option("--collect.interval-ms", interval_ms, "How often BPF counters are read (ms)")
      ->check(CLI::Range(50, 60000))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  o.collect_interval = std::chrono::milliseconds(interval_ms);
  if (o.pids.empty() && o.exes.empty()) {
    fmt::print(stderr, "hotallocd: nothing to trace: give --pid PID or --exe [NAME=]PATH (see --help)\n");
    return 2;
  }
  return -1;
}

}  // namespace hotalloc::config
