// hotallocctl: asks hotallocd over its local socket and prints the answer as
// a table for people or, with --json, as one JSON document for scripts.
#include <cerrno>
#include <charconv>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "ctl/client.h"
#include "ctl/command_util.h"
#include "ctl/commands.h"
#include "ctl/table.h"

namespace hotalloc::ctl {
namespace {

constexpr const char* kFooter = R"(Examples:
  hotallocctl status                         daemon, targets, and where each probe sits
  hotallocctl sizeclasses --target api       allocations of target "api" by size class
  hotallocctl targets --json | jq -r '.targets[].name'
  hotallocctl --socket /tmp/h.sock status    a daemon started with --socket /tmp/h.sock

Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage, 69 daemon
unreachable, 76 protocol mismatch, 77 permission denied (join group hotalloc).)";

// "5s", "500ms", "1m" or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || !(value >= 0)) return std::nullopt;  // also refuses NaN
  std::string_view unit(end, s.data() + s.size() - end);
  double ms;
  if (unit == "ms") ms = value;
  else if (unit == "s" || unit.empty()) ms = value * 1000;
  else if (unit == "m") ms = value * 60'000;
  else return std::nullopt;
  if (ms > 24.0 * 3600 * 1000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

int unexpected_shape(const nlohmann::json::exception& e) {
  std::cerr << "hotallocctl: the daemon's answer has an unexpected shape: " << e.what() << '\n';
  return kExitProtocol;
}

int run(int argc, char** argv) {
  CLI::App app("Query hotallocd, the eBPF allocation tracer for Go programs, over its local socket.",
               "hotallocctl");
  app.footer(kFooter);
  // Global options may also follow the subcommand: `hotallocctl status --json`.
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", "hotallocctl " HOTALLOC_VERSION " (revision " HOTALLOC_REVISION ")");

  std::string socket = "/run/hotalloc/hotalloc.sock";
  app.add_option("--socket", socket, "Path of the daemon's socket")->envname("HOTALLOC_SOCKET")->capture_default_str();
  bool json_out = false;
  app.add_flag("--json", json_out, "Print the answer as one JSON document (errors: the error object)");
  std::string timeout_text = "5s";
  app.add_option("--timeout", timeout_text, "How long to wait for the daemon (5s, 500ms, 1m)")
      ->capture_default_str()
      ->check([](const std::string& s) {
        return parse_duration(s) ? std::string() : "expected a duration like 5s, 500ms or 1m";
      });

  Invocation chosen;
  for (AddCommand add : kCommands) add(app, chosen);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and --version exit 0 through here too.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (chosen.run) {
    // These render as they go: their results may have an unexpected shape too.
    try {
      return chosen.run(socket, *parse_duration(timeout_text), json_out);
    } catch (const nlohmann::json::exception& e) {
      return unexpected_shape(e);
    }
  }
  auto client = Client::connect(socket, *parse_duration(timeout_text));
  if (!client) return report(client.error());
  auto reply = client->call(chosen.method, chosen.params);
  if (!reply) return report(reply.error());
  // A streamed answer: each part goes to the command, then the last is shown.
  while (chosen.take_part && reply->ok()) {
    if (auto st = chosen.take_part(*reply->outcome); !st) {
      // A part the daemon should not have sent carries EPROTO (76, as
      // exit_code maps it); other failures, such as writing the file, exit 1.
      std::cerr << "hotallocctl: " << st.error().message << '\n';
      return st.error().err == EPROTO ? exit_code(st.error()) : int(kExitErrorReply);
    }
    if (reply->framing != api::Framing::partial) break;
    reply = client->next();
    if (!reply) return report(reply.error());
  }

  if (!reply->ok()) return report(reply->outcome.error(), json_out);
  try {
    if (json_out) {
      std::cout << reply->outcome->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else {
      chosen.render(*reply->outcome, std::cout, color_wanted());
    }
  } catch (const nlohmann::json::exception& e) {
    return unexpected_shape(e);
  }
  return kExitOk;
}

}  // namespace
}  // namespace hotalloc::ctl

int main(int argc, char** argv) { return hotalloc::ctl::run(argc, argv); }
