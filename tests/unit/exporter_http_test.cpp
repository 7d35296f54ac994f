#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <civetweb.h>
#include <gtest/gtest.h>

#include "exporter/build_info.h"
#include "exporter/http_server.h"
#include "support/env.h"

namespace hotalloc::exporter {
namespace {

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// One HTTP/1.1 request over a fresh connection, read to EOF. ADDRESS is what
// bound_address() returns; a wildcard host is reached on loopback.
Result<Response> request(const std::string& address, const std::string& path, const std::string& method = "GET",
                         const std::string& extra_headers = "") {
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return fail("not an IPv4 address: {}", host);

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket");
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return fail_errno(err, "connect " + address);
  }
  const std::string req = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{}\r\n", method, path,
                                      address, extra_headers);
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return fail("short send");
  }
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);

  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return fail("no header end in {:?}", raw);
  Response r;
  r.body = raw.substr(end + 4);
  std::string_view head(raw.data(), end);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.1 ")) return fail("bad status line {:?}", status_line);
  r.status = std::stoi(std::string(status_line.substr(9, 3)));
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t sep = line.find(':');
    std::string name(line.substr(0, sep));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(line.substr(line.find_first_not_of(' ', sep + 1)));
  }
  return r;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "inflate failed";
}

// What the daemon's model does for the server: hands out the latest snapshot.
class Published {
 public:
  Published() {
    model::Snapshot s;
    model::TargetView t;
    t.name = "api";
    t.state = model::TargetState::attaching;
    s.targets.push_back(t);
    s.daemon.version = "9.9.9";
    set(std::move(s));
  }
  void set(model::Snapshot s) {
    std::lock_guard lock(mu_);
    latest_ = std::make_shared<const model::Snapshot>(std::move(s));
  }
  void set_null() {
    std::lock_guard lock(mu_);
    latest_.reset();
  }
  model::Snapshot copy() {
    std::lock_guard lock(mu_);
    return *latest_;
  }
  HttpServer::SnapshotFn fn() {
    return [this] {
      std::lock_guard lock(mu_);
      return latest_;
    };
  }

 private:
  std::mutex mu_;
  model::SnapshotPtr latest_;
};

std::unique_ptr<HttpServer> start_or_die(Published& p, HttpServer::Options o = {"127.0.0.1:0", "/metrics"}) {
  auto s = HttpServer::start(std::move(o), p.fn());
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

TEST(ExporterHttp, ServesEveryRoute) {
  Published pub;
  auto server = start_or_die(pub);
  ASSERT_TRUE(server);
  const std::string addr = server->bound_address();
  ASSERT_TRUE(addr.starts_with("127.0.0.1:")) << addr;
  EXPECT_NE(addr, "127.0.0.1:0");

  auto landing = request(addr, "/");
  ASSERT_TRUE(landing) << landing.error().message;
  EXPECT_EQ(landing->status, 200);
  EXPECT_EQ(landing->headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(landing->body.find("<h1>hotalloc</h1>"), std::string::npos) << landing->body;
  EXPECT_NE(landing->body.find("version " + build_info().version), std::string::npos) << landing->body;
  EXPECT_NE(landing->body.find("<a href=\"/metrics\">"), std::string::npos) << landing->body;

  auto metrics = request(addr, "/metrics");
  ASSERT_TRUE(metrics) << metrics.error().message;
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics->headers["content-length"], std::to_string(metrics->body.size()));
  EXPECT_EQ(metrics->headers.count("content-encoding"), 0u);
  EXPECT_NE(metrics->body.find("hotalloc_targets{state=\"attached\"} 0\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("hotalloc_build_info{version=\"9.9.9\""), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("\nprocess_open_fds "), std::string::npos) << metrics->body;

  auto healthy = request(addr, "/-/healthy");
  ASSERT_TRUE(healthy) << healthy.error().message;
  EXPECT_EQ(healthy->status, 200);
  EXPECT_EQ(healthy->body, "OK\n");

  auto missing = request(addr, "/metricsx");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_EQ(missing->status, 404);
  auto nested = request(addr, "/metrics/more");
  ASSERT_TRUE(nested) << nested.error().message;
  EXPECT_EQ(nested->status, 404);

  for (const char* method : {"POST", "PUT", "DELETE"}) {
    auto r = request(addr, "/metrics", method);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 405) << method;
    EXPECT_EQ(r->headers["allow"], "GET, HEAD") << method;
  }

  auto head = request(addr, "/metrics", "HEAD");
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_NE(head->headers["content-length"], "0");
}

TEST(ExporterHttp, ReadyFollowsTheSnapshot) {
  Published pub;
  auto server = start_or_die(pub);
  ASSERT_TRUE(server);

  auto before = request(server->bound_address(), "/-/ready");
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(before->status, 503);
  EXPECT_EQ(before->body, "not ready: 0 of 1 targets attached, 0 failed\n");

  model::Snapshot s = pub.copy();
  s.targets[0].state = model::TargetState::attached;
  s.ready = true;
  pub.set(std::move(s));
  auto after = request(server->bound_address(), "/-/ready");
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body, "OK\n");
}

TEST(ExporterHttp, NoSnapshotYet) {
  Published pub;
  pub.set_null();
  auto server = start_or_die(pub);
  ASSERT_TRUE(server);
  auto metrics = request(server->bound_address(), "/metrics");
  ASSERT_TRUE(metrics) << metrics.error().message;
  EXPECT_EQ(metrics->status, 503);
  auto ready = request(server->bound_address(), "/-/ready");
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "not ready: no snapshot yet\n");
  auto healthy = request(server->bound_address(), "/-/healthy");
  ASSERT_TRUE(healthy) << healthy.error().message;
  EXPECT_EQ(healthy->status, 200);
}

TEST(ExporterHttp, GzipWhenAccepted) {
  Published pub;
  auto server = start_or_die(pub);
  ASSERT_TRUE(server);

  auto packed = request(server->bound_address(), "/metrics", "GET", "Accept-Encoding: deflate, GZip;q=0.5\r\n");
  ASSERT_TRUE(packed) << packed.error().message;
  EXPECT_EQ(packed->status, 200);
  EXPECT_EQ(packed->headers["content-encoding"], "gzip");
  EXPECT_EQ(packed->headers["vary"], "Accept-Encoding");
  const std::string text = gunzip(packed->body);
  EXPECT_TRUE(text.starts_with("# HELP ")) << text;
  EXPECT_NE(text.find("hotalloc_build_info{version=\"9.9.9\""), std::string::npos) << text;

  auto refused = request(server->bound_address(), "/metrics", "GET", "Accept-Encoding: gzip;q=0\r\n");
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ(refused->headers.count("content-encoding"), 0u);
  EXPECT_TRUE(refused->body.starts_with("# HELP ")) << refused->body;
}

TEST(ExporterHttp, TelemetryPathMoves) {
  Published pub;
  auto server = start_or_die(pub, {"127.0.0.1:0", "/x/metrics"});
  ASSERT_TRUE(server);
  auto moved = request(server->bound_address(), "/x/metrics");
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->status, 200);
  auto old = request(server->bound_address(), "/metrics");
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->status, 404);
  auto landing = request(server->bound_address(), "/");
  ASSERT_TRUE(landing) << landing.error().message;
  EXPECT_NE(landing->body.find("<a href=\"/x/metrics\">"), std::string::npos) << landing->body;

  for (const char* bad : {"metrics", "/", "/-/ready", "/-/healthy", ""}) {
    auto s = HttpServer::start({"127.0.0.1:0", bad}, pub.fn());
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_NE(s.error().message.find("telemetry path"), std::string::npos) << s.error().message;
  }
}

TEST(ExporterHttp, PortInUseIsAnError) {
  Published pub;
  auto first = start_or_die(pub);
  ASSERT_TRUE(first);
  auto second = HttpServer::start({first->bound_address(), "/metrics"}, pub.fn());
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find(first->bound_address()), std::string::npos) << second.error().message;
  EXPECT_NE(second.error().message.find("Address already in use"), std::string::npos) << second.error().message;
  // The first server is unharmed.
  auto still = request(first->bound_address(), "/-/healthy");
  ASSERT_TRUE(still) << still.error().message;
  EXPECT_EQ(still->status, 200);
}

TEST(ExporterHttp, BadAddressesAreErrors) {
  Published pub;
  for (const char* bad : {"", "17911", ":", ":port", ":65536", ":-1", "127.0.0.1:", "::1:80", "[::1]", "[::1]80",
                          "[nope]:80", "no-such-host.invalid:80", "192.0.2.1:0"}) {
    auto s = HttpServer::start({bad, "/metrics"}, pub.fn());
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_NE(s.error().message.find(fmt::format("{:?}", bad)), std::string::npos) << s.error().message;
  }
}

TEST(ExporterHttp, EveryInterface) {
  Published pub;
  auto server = start_or_die(pub, {":0", "/metrics"});
  ASSERT_TRUE(server);
  const std::string addr = server->bound_address();
  EXPECT_TRUE(addr.starts_with("0.0.0.0:") || addr.starts_with("[::]:")) << addr;
  auto r = request(addr, "/-/healthy");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

// Debian's libcivetweb is built without IPv6: then an IPv6 address must be a
// clear error rather than civetweb's "invalid port spec".
TEST(ExporterHttp, Ipv6Address) {
  Published pub;
  auto s = HttpServer::start({"[::1]:0", "/metrics"}, pub.fn());
  if (mg_check_feature(8) == 0) {
    ASSERT_FALSE(s.has_value());
    EXPECT_NE(s.error().message.find("without IPv6"), std::string::npos) << s.error().message;
  } else {
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_TRUE((*s)->bound_address().starts_with("[::1]:")) << (*s)->bound_address();
  }
}

TEST(ExporterHttp, ParsesListenAddresses) {
  auto any = parse_listen_address(":17911");
  ASSERT_TRUE(any) << any.error().message;
  EXPECT_EQ(any->host, "");
  EXPECT_EQ(any->port, 17911);
  EXPECT_FALSE(any->ipv6);

  auto lo = parse_listen_address("localhost:80");
  ASSERT_TRUE(lo) << lo.error().message;
  EXPECT_EQ(lo->host, "127.0.0.1");
  EXPECT_EQ(lo->port, 80);

  auto v6 = parse_listen_address("[::1]:9");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9);
  EXPECT_TRUE(v6->ipv6);
}

// Scrapes and probes at once from more clients than the server has threads.
TEST(ExporterHttp, ConcurrentRequests) {
  Published pub;
  auto server = start_or_die(pub);
  ASSERT_TRUE(server);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; i++) {
    clients.emplace_back([&, i] {
      for (int j = 0; j < 20; j++) {
        auto r = request(server->bound_address(), i % 2 ? "/metrics" : "/-/healthy");
        if (r && r->status == 200) ok++;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 120);
}

}  // namespace
}  // namespace hotalloc::exporter
