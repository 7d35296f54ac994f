// The systemd protocol and config reloads on a real daemon: READY once
// serving, RELOADING with MONOTONIC_USEC then READY on SIGHUP, STOPPING on
// SIGTERM; a reload adds and removes targets without touching the probes of
// the targets that stay, switches the map-insert mode, and a bad file is
// refused while the running configuration stays.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/alloc_counts.h"
#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The receiving end of $NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  // The next datagram holding `key`; the ones before it are returned in `skipped`.
  std::optional<std::string> wait_for(const std::string& key, std::chrono::seconds timeout,
                                      std::vector<std::string>* skipped = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      timeval tv{0, 200'000};
      setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<size_t>(n));
      if (("\n" + msg).find("\n" + key) != std::string::npos) return msg;
      if (skipped) skipped->push_back(msg);
    }
    return std::nullopt;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

const json* target_named(const json& targets, const std::string& name) {
  for (const auto& t : targets.at("targets"))
    if (t.at("name") == name) return &t;
  return nullptr;
}

std::string state_of(DaemonHarness& d, const std::string& name) {
  auto t = d.call("targets");
  if (!t) return "error: " + t.error().message;
  const json* j = target_named(*t, name);
  return j ? j->at("state").get<std::string>() : "absent";
}

TEST(Reload, NotifyProtocolAndTargetsChangeInPlace) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto bin = go_target("sizes", go_versions().back());
  ASSERT_TRUE(bin) << bin.error().message;
  ProgramCopies copies("reload");
  const fs::path& dir = copies.dir();
  std::string a = copies.add(*bin, "svc-a"), b = copies.add(*bin, "svc-b"), config = dir / "hotalloc.toml";
  auto write_config = [&](const std::string& text) {
    std::ofstream(config + ".new") << text;
    fs::rename(config + ".new", config);
  };
  write_config(fmt::format("exe = [\"a={}\"]\n", a));

  NotifySocket notify(dir / "notify.sock");
  ASSERT_TRUE(notify.bound());
  setenv("NOTIFY_SOCKET", (dir / "notify.sock").c_str(), 1);
  auto daemon = DaemonHarness::start({"--config", config});
  unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  auto ready = notify.wait_for("READY=1", 10s);
  ASSERT_TRUE(ready) << d.log();
  EXPECT_NE(ready->find("STATUS=tracing 1 of 1 targets"), std::string::npos) << *ready;

  // A process of target a, counted before the reload...
  auto prog = ChildProcess::spawn({a});
  ASSERT_TRUE(prog);
  ASSERT_TRUE(prog->read_line(10s));
  ASSERT_TRUE(prog->write_line("phase"));
  ASSERT_TRUE(prog->read_line(60s));
  auto before = d.call("sizeclasses", {{"target", "a"}});
  ASSERT_TRUE(before) << before.error().message;
  uint64_t objects_before = from_hotalloc(*before, "a").objects;
  EXPECT_GT(objects_before, 0u);

  // ...then a reload that adds target b.
  write_config(fmt::format("exe = [\"a={}\", \"b={}\"]\n[log]\nlevel = \"info\"\n", a, b));
  uint64_t sent_at = monotonic_usec();
  ASSERT_EQ(kill(d.process().pid(), SIGHUP), 0);
  auto reloading = notify.wait_for("RELOADING=1", 10s);
  ASSERT_TRUE(reloading) << d.log();
  auto usec_at = reloading->find("MONOTONIC_USEC=");
  ASSERT_NE(usec_at, std::string::npos) << *reloading;
  uint64_t usec = std::stoull(reloading->substr(usec_at + 15));
  EXPECT_GE(usec, sent_at);
  EXPECT_LT(usec, sent_at + 10'000'000);
  ASSERT_TRUE(notify.wait_for("READY=1", 10s)) << d.log();
  EXPECT_EQ(state_of(d, "a"), "attached");
  EXPECT_EQ(state_of(d, "b"), "attached");
  // Target a's probes stayed: attached once, and its process still counted
  // in the same totals.
  std::string log = d.log();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) n++;
    return n;
  };
  EXPECT_EQ(count("tracing every process of " + a), 1u) << log;
  EXPECT_NE(log.find("applied exe"), std::string::npos) << log;
  ASSERT_TRUE(prog->write_line("phase"));
  ASSERT_TRUE(prog->read_line(60s));
  auto after = d.call("sizeclasses", {{"target", "a"}});
  ASSERT_TRUE(after);
  EXPECT_GT(from_hotalloc(*after, "a").objects, objects_before);

  // The insert mode changes in place (on the event loop that also runs the
  // reload), and the always-on probes stay as they are.
  EXPECT_EQ(insert_probe_state(d, "a"), "none attached");
  write_config(fmt::format("exe = [\"a={}\", \"b={}\"]\nmap-inserts = \"on\"\n", a, b));
  ASSERT_EQ(kill(d.process().pid(), SIGHUP), 0);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", 10s));
  ASSERT_TRUE(notify.wait_for("READY=1", 10s)) << d.log();
  EXPECT_EQ(insert_mode(d), "on");
  EXPECT_EQ(insert_probe_state(d, "a"), "all attached");
  EXPECT_EQ(insert_probe_state(d, "b"), "all attached");
  log = d.log();
  EXPECT_EQ(count("tracing every process of " + a), 1u) << log;
  EXPECT_NE(log.find("applied map-inserts"), std::string::npos) << log;

  // A broken file is refused whole; the running configuration stays.
  write_config(fmt::format("exe = [\"a={}\"]\n[log]\nlevel = \"loud\"\n", a));
  ASSERT_EQ(kill(d.process().pid(), SIGHUP), 0);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", 10s));
  ASSERT_TRUE(notify.wait_for("READY=1", 10s));
  log = d.log();
  EXPECT_NE(log.find("reload rejected"), std::string::npos) << log;
  EXPECT_NE(log.find("hotalloc.toml:3: log.level: \\\"loud\\\" is not debug, info, warn or error"), std::string::npos)
      << log;
  EXPECT_EQ(state_of(d, "b"), "attached");
  EXPECT_EQ(insert_mode(d), "on");

  // Dropping b detaches b alone; a setting that needs a restart is kept.
  write_config(fmt::format("exe = [\"a={}\"]\n[log]\nformat = \"json\"\n", a));
  ASSERT_EQ(kill(d.process().pid(), SIGHUP), 0);
  ASSERT_TRUE(notify.wait_for("READY=1", 10s));
  EXPECT_EQ(state_of(d, "b"), "detached");
  EXPECT_EQ(state_of(d, "a"), "attached");
  log = d.log();
  EXPECT_NE(log.find("log.format changed, which needs a restart"), std::string::npos) << log;
  EXPECT_EQ(log.find("{\"level\""), std::string::npos) << "switched to JSON logs without a restart";
  EXPECT_EQ(insert_mode(d), "off");  // the default again, with map-inserts gone from the file
  EXPECT_EQ(insert_probe_state(d, "a"), "none attached");

  prog->write_line("quit");
  ASSERT_EQ(kill(d.process().pid(), SIGTERM), 0);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", 10s)) << d.log();
}

}  // namespace
}  // namespace hotalloc::testing
