// The daemon's HTTP endpoint, on civetweb: the telemetry path (text
// exposition of one fresh snapshot per scrape), a landing page at /, and the
// /-/healthy and /-/ready probes. prometheus-cpp's Exposer is not used because
// it cannot serve those next to /metrics without global state.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "model/snapshot.h"
#include "util/result.h"

class CivetServer;
struct mg_connection;
namespace spdlog {
class logger;
}

namespace hotalloc::exporter {

// Where to listen, from --web.listen-address.
struct ListenAddress {
  std::string host;  // numeric; empty means every interface
  uint16_t port = 0;  // 0: the kernel picks one
  bool ipv6 = false;
};

// ":PORT" (every interface), "HOST:PORT" (an IPv4 address, or a name that
// resolves to one) or "[IPV6]:PORT".
Result<ListenAddress> parse_listen_address(std::string_view text);

class HttpServer {
 public:
  struct Options {
    std::string listen_address = ":17911";
    std::string telemetry_path = "/metrics";
  };
  // Called once per request, from the server's threads.
  using SnapshotFn = std::function<model::SnapshotPtr()>;

  // Binds and starts serving; a bad address or a port in use is an error
  // naming the address and the cause.
  static Result<std::unique_ptr<HttpServer>> start(Options options, SnapshotFn snapshot);

  // Stops serving and waits for requests in flight.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // HOST:PORT actually bound, with the kernel's port when 0 was asked for:
  // "127.0.0.1:17911", "0.0.0.0:17911", "[::1]:17911".
  std::string bound_address() const { return bound_address_; }

 private:
  class Handler;

  HttpServer(Options options, SnapshotFn snapshot);
  static int on_civetweb_log(const mg_connection* conn, const char* message);

  void serve(mg_connection* conn, bool head) const;
  void serve_metrics(mg_connection* conn, bool head) const;
  void serve_ready(mg_connection* conn, bool head) const;

  Options options_;
  SnapshotFn snapshot_;
  std::string landing_page_;
  std::string bound_address_;
  ListenAddress bound_;  // the kernel's port, for waking civetweb on stop
  // Fetched once: logging::get() registers on first use and is not safe to
  // race from civetweb's threads.
  std::shared_ptr<spdlog::logger> log_;

  // civetweb reports why it could not start only through its log callback;
  // the first message while starting becomes the error start() returns.
  std::atomic<bool> starting_{true};
  std::mutex startup_error_mu_;
  std::string startup_error_;

  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;  // last: stopped before what its threads use
};

}  // namespace hotalloc::exporter
