#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>
#include <vector>

#include <CivetServer.h>

#include "exporter/build_info.h"
#include "exporter/metrics.h"
#include "util/gzip.h"
#include "util/log.h"

namespace hotalloc::exporter {
namespace {

constexpr const char* kTextPlain = "text/plain; charset=utf-8";
constexpr const char* kExposition = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kHealthyPath = "/-/healthy";
constexpr const char* kReadyPath = "/-/ready";
// mg_check_feature() bit for IPv6 listeners; Debian's libcivetweb is built without.
constexpr unsigned kCivetFeatureIpv6 = 8;
// Few threads: a scrape or a probe takes milliseconds and keep-alive is off,
// so two serve a Prometheus server and a kubelet without queueing.
constexpr const char* kThreads = "2";

Result<uint16_t> parse_port(std::string_view text, std::string_view address) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v > 65535) {
    return fail("listen address {:?}: bad port {:?} (want 0-65535)", address, text);
  }
  return static_cast<uint16_t>(v);
}

// An IPv4 address for HOST: numeric as given, else the first the resolver has.
Result<std::string> resolve_ipv4(const std::string& host, std::string_view address) {
  in_addr numeric{};
  if (inet_pton(AF_INET, host.c_str(), &numeric) == 1) return host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return fail("listen address {:?}: host {:?}: {}", address, host, gai_strerror(rc));
  }
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof text);
  freeaddrinfo(found);
  return std::string(text);
}

bool civetweb_has_ipv6() { return mg_check_feature(kCivetFeatureIpv6) != 0; }

// Connects to the listener at A (loopback when it listens everywhere) and
// hangs up at once.
void knock(const ListenAddress& a) {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* sa;
  socklen_t len;
  if (a.ipv6 || (a.host.empty() && civetweb_has_ipv6())) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(a.port);
    v6.sin6_addr = in6addr_loopback;
    if (!a.host.empty()) inet_pton(AF_INET6, a.host.c_str(), &v6.sin6_addr);
    sa = reinterpret_cast<const sockaddr*>(&v6);
    len = sizeof v6;
  } else {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(a.port);
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!a.host.empty()) inet_pton(AF_INET, a.host.c_str(), &v4.sin_addr);
    sa = reinterpret_cast<const sockaddr*>(&v4);
    len = sizeof v4;
  }
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  connect(fd, sa, len);
  close(fd);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Whether an Accept-Encoding header allows gzip: listed, and not with q=0.
bool accepts_gzip(const char* header) {
  if (!header) return false;
  std::string_view rest = header;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    size_t semi = item.find(';');
    if (lower(trim(item.substr(0, semi))) != "gzip") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view param = trim(item.substr(semi + 1));
    if (!param.starts_with("q=") && !param.starts_with("Q=")) return true;
    double q = 1;
    param.remove_prefix(2);
    std::from_chars(param.data(), param.data() + param.size(), q);
    return q > 0;
  }
  return false;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string landing_page(const std::string& telemetry_path) {
  const BuildInfo b = build_info();
  const std::string path = html_escape(telemetry_path);
  return fmt::format(
      "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>hotalloc</title></head>\n<body>\n"
      "<h1>hotalloc</h1>\n<p>eBPF allocation tracer for Go programs, version {} (revision {}).</p>\n"
      "<ul>\n<li><a href=\"{}\">{}</a></li>\n<li><a href=\"{}\">{}</a></li>\n<li><a href=\"{}\">{}</a></li>\n</ul>\n"
      "</body>\n</html>\n",
      html_escape(b.version), html_escape(b.revision), path, path, kHealthyPath, kHealthyPath, kReadyPath,
      kReadyPath);
}

using Headers = std::initializer_list<std::pair<const char*, const char*>>;

// "Sat, 21 Nov 2026 06:11:26 GMT", the HTTP date format.
std::string http_date() {
  const time_t now = time(nullptr);
  tm utc{};
  gmtime_r(&now, &utc);
  char buf[64];
  return std::string(buf, strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &utc));
}

// The response is written whole here rather than through civetweb's
// mg_response_header_* calls: in 1.15 those format Date with gmtime(), which
// races between the worker threads.
void reply(mg_connection* conn, bool head, int status, const char* content_type, std::string_view body,
           Headers extra = {}) {
  std::string headers = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "Date: {}\r\nConnection: close\r\n",
      status, mg_get_response_code_text(conn, status), content_type, body.size(), http_date());
  for (const auto& [name, value] : extra) headers += fmt::format("{}: {}\r\n", name, value);
  headers += "\r\n";
  mg_write(conn, headers.data(), headers.size());
  if (!head) mg_write(conn, body.data(), body.size());
}

// Why /-/ready says no, in one line, from what the snapshot shows.
std::string not_ready_reason(const model::Snapshot& snap) {
  if (snap.targets.empty()) return "not ready: no targets yet";
  size_t attached = 0, failed = 0;
  for (const auto& t : snap.targets) {
    attached += t.state == model::TargetState::attached;
    failed += t.state == model::TargetState::failed;
  }
  return fmt::format("not ready: {} of {} targets attached, {} failed", attached, snap.targets.size(), failed);
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress out;
  std::string_view port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("listen address {:?}: want [IPV6]:PORT", text);
    }
    out.host = std::string(text.substr(1, close - 1));
    out.ipv6 = true;
    in6_addr numeric{};
    if (inet_pton(AF_INET6, out.host.c_str(), &numeric) != 1) {
      return fail("listen address {:?}: {:?} is not an IPv6 address", text, out.host);
    }
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("listen address {:?}: want HOST:PORT or :PORT", text);
    if (text.substr(0, colon).find(':') != std::string_view::npos) {
      return fail("listen address {:?}: an IPv6 address needs brackets, [ADDR]:PORT", text);
    }
    if (colon > 0) {
      auto host = resolve_ipv4(std::string(text.substr(0, colon)), text);
      if (!host) return fail(host.error());
      out.host = *host;
    }
    port = text.substr(colon + 1);
  }
  auto p = parse_port(port, text);
  if (!p) return fail(p.error());
  out.port = *p;
  return out;
}

class HttpServer::Handler : public CivetHandler {
 public:
  explicit Handler(const HttpServer& server) : server_(server) {}
  bool handleGet(CivetServer*, mg_connection* conn) override { return handle(conn, false); }
  bool handleHead(CivetServer*, mg_connection* conn) override { return handle(conn, true); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return not_allowed(conn); }
  bool handlePut(CivetServer*, mg_connection* conn) override { return not_allowed(conn); }
  bool handleDelete(CivetServer*, mg_connection* conn) override { return not_allowed(conn); }
  bool handlePatch(CivetServer*, mg_connection* conn) override { return not_allowed(conn); }
  bool handleOptions(CivetServer*, mg_connection* conn) override { return not_allowed(conn); }

 private:
  // Exceptions must not unwind through civetweb's C frames.
  bool handle(mg_connection* conn, bool head) {
    try {
      server_.serve(conn, head);
    } catch (const std::exception& e) {
      server_.log_->error("request failed: {}", e.what());
      reply(conn, head, 500, kTextPlain, "internal error\n");
    }
    return true;
  }

  // Every route is read-only.
  static bool not_allowed(mg_connection* conn) {
    reply(conn, false, 405, kTextPlain, "method not allowed\n", {{"Allow", "GET, HEAD"}});
    return true;
  }

  const HttpServer& server_;
};

HttpServer::HttpServer(Options options, SnapshotFn snapshot)
    : options_(std::move(options)),
      snapshot_(std::move(snapshot)),
      landing_page_(landing_page(options_.telemetry_path)),
      log_(logging::get("http")) {}

HttpServer::~HttpServer() {
  if (!server_) return;  // start() failed
  // civetweb's listener thread sees the stop flag only when its poll returns,
  // which without traffic takes up to 2 s; a knock on the port makes it
  // return at once. Knocks before the flag is set are served as empty
  // connections, so keep knocking until civetweb has stopped.
  std::atomic<bool> stopped{false};
  std::thread knocker([&] {
    while (!stopped) {
      knock(bound_);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  server_->close();
  stopped = true;
  knocker.join();
}

int HttpServer::on_civetweb_log(const mg_connection* conn, const char* message) {
  const mg_context* ctx = conn ? mg_get_context(conn) : nullptr;
  const auto* civet = ctx ? static_cast<const CivetServer*>(mg_get_user_data(ctx)) : nullptr;
  auto* self = civet ? static_cast<HttpServer*>(const_cast<void*>(civet->getUserContext())) : nullptr;
  if (self && self->starting_) {
    std::lock_guard lock(self->startup_error_mu_);
    if (self->startup_error_.empty()) self->startup_error_ = message;
  } else {
    (self ? self->log_ : logging::get("http"))->warn("civetweb: {}", message);
  }
  return 1;  // handled: civetweb writes no log of its own
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(Options options, SnapshotFn snapshot) {
  const std::string& path = options.telemetry_path;
  if (!path.starts_with('/') || path == "/" || path == kHealthyPath || path == kReadyPath) {
    return fail("telemetry path {:?}: want an absolute path other than /, {} and {}", path, kHealthyPath, kReadyPath);
  }
  auto addr = parse_listen_address(options.listen_address);
  if (!addr) return fail(addr.error());
  if (addr->ipv6 && !civetweb_has_ipv6()) {
    return fail("listen address {:?}: this libcivetweb was built without IPv6 support", options.listen_address);
  }

  // civetweb's own syntax: "PORT" is every IPv4 interface, "+PORT" every
  // interface of both families, "[ADDR]:PORT" one IPv6 address.
  std::string ports;
  std::string host;
  if (addr->host.empty()) {
    ports = (civetweb_has_ipv6() ? "+" : "") + std::to_string(addr->port);
    host = civetweb_has_ipv6() ? "[::]" : "0.0.0.0";
  } else {
    host = addr->ipv6 ? "[" + addr->host + "]" : addr->host;
    ports = host + ":" + std::to_string(addr->port);
  }

  std::unique_ptr<HttpServer> self(new HttpServer(std::move(options), std::move(snapshot)));
  self->handler_ = std::make_unique<Handler>(*self);
  CivetCallbacks callbacks;
  callbacks.log_message = &HttpServer::on_civetweb_log;
  const std::vector<std::string> civet_options = {
      "listening_ports", ports,
      "num_threads", kThreads,
      // One request per connection keeps a thread from idling on a client.
      "enable_keep_alive", "no",
      // Prometheus's default scrape timeout; a stalled client is cut off then.
      "request_timeout_ms", "10000",
  };
  try {
    self->server_ = std::make_unique<CivetServer>(civet_options, &callbacks, self.get());
  } catch (const CivetException& e) {
    std::lock_guard lock(self->startup_error_mu_);
    return fail("listen address {:?}: {}", self->options_.listen_address,
                self->startup_error_.empty() ? e.what() : self->startup_error_);
  }
  self->starting_ = false;
  // Every request goes through one handler, which routes on the exact path
  // and answers 404 itself; "**" is civetweb's pattern for any URI.
  self->server_->addHandler("**", *self->handler_);

  self->bound_ = *addr;
  for (const auto& p : self->server_->getListeningPortsFull()) self->bound_.port = static_cast<uint16_t>(p.port);
  self->bound_address_ = fmt::format("{}:{}", host, self->bound_.port);
  self->log_->info("listening on {}, metrics at {}", self->bound_address_, self->options_.telemetry_path);
  return self;
}

void HttpServer::serve(mg_connection* conn, bool head) const {
  const mg_request_info* req = mg_get_request_info(conn);
  const std::string_view path = req && req->local_uri ? req->local_uri : "";
  if (path == options_.telemetry_path) {
    serve_metrics(conn, head);
  } else if (path == "/") {
    reply(conn, head, 200, "text/html; charset=utf-8", landing_page_);
  } else if (path == kHealthyPath) {
    reply(conn, head, 200, kTextPlain, "OK\n");
  } else if (path == kReadyPath) {
    serve_ready(conn, head);
  } else {
    reply(conn, head, 404, kTextPlain, "404 page not found\n");
  }
}

void HttpServer::serve_metrics(mg_connection* conn, bool head) const {
  const model::SnapshotPtr snap = snapshot_();
  if (!snap) {
    reply(conn, head, 503, kTextPlain, "no snapshot yet: the daemon is starting\n");
    return;
  }
  const std::string text = exposition_text(*snap);
  if (accepts_gzip(mg_get_header(conn, "Accept-Encoding"))) {
    auto packed = gzip(text);
    if (packed) {
      reply(conn, head, 200, kExposition, *packed, {{"Content-Encoding", "gzip"}, {"Vary", "Accept-Encoding"}});
      return;
    }
    // The scrape still gets the text, unpacked; say why it was not packed.
    log_->warn("/metrics sent uncompressed: {}", packed.error().message);
  }
  reply(conn, head, 200, kExposition, text, {{"Vary", "Accept-Encoding"}});
}

void HttpServer::serve_ready(mg_connection* conn, bool head) const {
  const model::SnapshotPtr snap = snapshot_();
  if (!snap) {
    reply(conn, head, 503, kTextPlain, "not ready: no snapshot yet\n");
  } else if (!snap->ready) {
    reply(conn, head, 503, kTextPlain, not_ready_reason(*snap) + "\n");
  } else {
    reply(conn, head, 200, kTextPlain, "OK\n");
  }
}

}  // namespace hotalloc::exporter
