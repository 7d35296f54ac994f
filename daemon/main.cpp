// hotallocd: traces running Go programs with eBPF and exports where their
// allocations go. Only main decides to exit; everything below returns errors.
#include <fmt/format.h>

#include "config/options.h"
#include "tracer/daemon.h"
#include "util/log.h"

int main(int argc, char** argv) {
  using namespace hotalloc;
  config::CommandLine cli;
  std::string version = fmt::format("hotallocd {} (revision {})", HOTALLOC_VERSION, HOTALLOC_REVISION);
  if (int code = config::parse_command_line(argc, argv, version, cli); code >= 0) return code;
  auto options = config::resolve(cli);
  if (!options) {
    fmt::print(stderr, "hotallocd: {}\n", options.error().message);
    return 2;
  }
  if (cli.check_only) {
    fmt::print("hotallocd: {} is valid\n", cli.config_path ? *cli.config_path : std::string("the command line"));
    return 0;
  }
  if (auto st = logging::setup(options->log_level, options->log_format); !st) {
    fmt::print(stderr, "hotallocd: {}\n", st.error().message);
    return 2;
  }
  auto daemon = tracer::Daemon::start(cli, *options);
  if (!daemon) {
    logging::get("daemon")->error("cannot start: {}", daemon.error().message);
    return 1;
  }
  return (*daemon)->run();
}
