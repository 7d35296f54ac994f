#include "support/daemon_harness.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/env.h"

namespace hotalloc::testing {
namespace {

Result<std::string> read_line(int fd, std::string& buf) {
  for (;;) {
    if (auto nl = buf.find('\n'); nl != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return line;
    }
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) return fail("connection closed before a full line");
    buf.append(tmp, n);
  }
}

}  // namespace

Result<nlohmann::json> socket_call(const std::string& socket_path, const std::string& method,
                                   const nlohmann::json& params) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr)) {
    int err = errno;
    close(fd);
    return fail_errno(err, "connect " + socket_path);
  }
  std::string buf;
  auto greeting = read_line(fd, buf);
  nlohmann::json req = {{"v", 1}, {"id", 1}, {"method", method}, {"params", params}};
  std::string line = req.dump() + "\n";
  Result<std::string> reply = greeting ? Result<std::string>(std::string()) : fail(greeting.error());
  if (greeting && write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()))
    reply = read_line(fd, buf);
  close(fd);
  if (!reply) return fail(reply.error());
  auto j = nlohmann::json::parse(*reply, nullptr, false);
  if (j.is_discarded()) return fail("reply is not JSON: {}", *reply);
  if (!j.value("ok", false))
    return fail("{}: {}", j["error"].value("code", "?"), j["error"].value("message", "?"));
  return j["result"];
}

Result<std::unique_ptr<DaemonHarness>> DaemonHarness::start(const std::vector<std::string>& args) {
  std::unique_ptr<DaemonHarness> h(new DaemonHarness());
  char tmpl[] = "/tmp/hotalloc-test-XXXXXX";
  if (!mkdtemp(tmpl)) return fail_errno(errno, "mkdtemp");
  h->dir_ = tmpl;
  h->socket_ = h->dir_ + "/run/hotalloc.sock";
  h->log_path_ = h->dir_ + "/hotallocd.log";
  std::vector<std::string> argv = {build_dir() + "/hotallocd", "--socket", h->socket_,
                                   "--web.listen-address", "127.0.0.1:0", "--log.level", "debug",
                                   "--collect.interval-ms", "200"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess::Options o;
  o.pipe_stdin = false;
  o.pipe_stdout = false;
  o.stderr_path = h->log_path_;
  auto child = ChildProcess::spawn(argv, o);
  if (!child) return fail(child.error());
  h->child_.emplace(std::move(*child));

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!h->child_->running()) return fail("hotallocd exited during start-up; its log:\n{}", h->log());
    if (h->call("status")) return h;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fail("hotallocd did not answer on {} within 30 s; its log:\n{}", h->socket_, h->log());
}

DaemonHarness::~DaemonHarness() {
  if (child_) child_->stop(SIGTERM, std::chrono::seconds(5));
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

Result<nlohmann::json> DaemonHarness::call(const std::string& method, const nlohmann::json& params) {
  return socket_call(socket_, method, params);
}

Result<nlohmann::json> DaemonHarness::wait_for(const std::string& method, const nlohmann::json& params,
                                               const std::function<bool(const nlohmann::json&)>& pred,
                                               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Result<nlohmann::json> last = fail("not called");
  while (std::chrono::steady_clock::now() < deadline) {
    last = call(method, params);
    if (last && pred(*last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (last) return fail("condition on {} not met within {} ms; last result: {}", method, timeout.count(),
                        last->dump());
  return last;
}

Result<std::string> DaemonHarness::http_get(const std::string& path) {
  auto status = call("status");
  if (!status) return fail(status.error().context("status for the HTTP address"));
  return run_capture("curl -sS --fail --max-time 10 'http://" +
                     status->at("daemon").at("http_address").get<std::string>() + path + "'");
}

double metric_value(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  return -1;
}

std::string DaemonHarness::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string wait_attached(DaemonHarness& d) {
  auto attached = d.wait_for("targets", nlohmann::json::object(), [](const nlohmann::json& r) {
    return !r.at("targets").empty() && r["targets"][0].at("state") == "attached";
  }, std::chrono::seconds(10));
  if (!attached) {
    ADD_FAILURE() << attached.error().message << "\n" << d.log();
    return {};
  }
  return (*attached)["targets"][0].at("name");
}

std::string insert_mode(DaemonHarness& d) {
  auto s = d.call("status");
  return s ? s->at("daemon").at("map_inserts").get<std::string>() : "error: " + s.error().message;
}

uint64_t insert_probe_hits(const nlohmann::json& status) {
  uint64_t hits = 0;
  for (const auto& p : status.at("probe_health"))
    if (p.at("probe").get<std::string>().starts_with("mapassign")) hits += p.at("hits").get<uint64_t>();
  return hits;
}

std::string insert_probe_state(DaemonHarness& d, const std::string& target) {
  auto s = d.call("status");
  if (!s) return "error: " + s.error().message;
  for (const auto& t : s->at("targets")) {
    if (t.at("name") != target) continue;
    size_t total = 0, attached = 0;
    for (const auto& p : t.at("probes"))
      if (p.at("probe").get<std::string>().starts_with("mapassign")) {
        total++;
        attached += p.at("attached").get<bool>();
      }
    if (total == 0) return "no insert probes planned";
    if (attached == total) return "all attached";
    return attached == 0 ? "none attached" : std::to_string(attached) + " of " + std::to_string(total) + " attached";
  }
  return "absent";
}

}  // namespace hotalloc::testing
