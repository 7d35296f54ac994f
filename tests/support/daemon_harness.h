// Runs build/hotallocd as a child with its own socket and an ephemeral HTTP
// port, and talks to it the way hotallocctl does (JSON lines on the socket).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "util/result.h"

namespace hotalloc::testing {

// One request over a fresh connection. On success the reply's `result`; an
// error reply becomes an Error whose message is "CODE: message".
Result<nlohmann::json> socket_call(const std::string& socket_path, const std::string& method,
                                   const nlohmann::json& params = nlohmann::json::object());

class DaemonHarness;

// Whether the map-insert probes (mapassign*) of the target named `target`
// are attached, from `status`: "all attached", "none attached", or what is
// wrong ("3 of 5 attached", "absent", "error: ...").
std::string insert_probe_state(DaemonHarness& d, const std::string& target);
// The hits of the map-insert probes (mapassign*) summed over `status`'s
// probe_health.
uint64_t insert_probe_hits(const nlohmann::json& status);
// The value of one series of a /metrics text: the line starting with
// `series` (name and labels as exposed) and a space; -1 when absent.
double metric_value(const std::string& text, const std::string& series);
// The configured insert mode from `status` ("off", "on", "200ms/10s").
std::string insert_mode(DaemonHarness& d);
// Waits until the daemon's first target is attached and returns its name;
// empty (with a test failure recorded) if it never is.
std::string wait_attached(DaemonHarness& d);

class DaemonHarness {
 public:
  // Starts hotallocd with `args` (targets etc.) and waits until its socket
  // answers `status`.
  static Result<std::unique_ptr<DaemonHarness>> start(const std::vector<std::string>& args);
  ~DaemonHarness();

  Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());

  // Polls `method` until `pred` holds on its result; the last result or error.
  Result<nlohmann::json> wait_for(const std::string& method, const nlohmann::json& params,
                                  const std::function<bool(const nlohmann::json&)>& pred,
                                  std::chrono::milliseconds timeout);

  // GET of `path` ("/metrics", "/-/ready") from the daemon's HTTP address
  // (its `status` says which), with curl; the body, failing on an HTTP error.
  Result<std::string> http_get(const std::string& path);
  // A scrape of its /metrics.
  Result<std::string> metrics() { return http_get("/metrics"); }

  std::string log() const;  // the daemon's stderr so far
  const std::string& socket_path() const { return socket_; }
  ChildProcess& process() { return *child_; }

 private:
  DaemonHarness() = default;
  std::string dir_;
  std::string socket_;
  std::string log_path_;
  std::optional<ChildProcess> child_;
};

}  // namespace hotalloc::testing
