// Runs the hotallocctl binary against a real server on a fake backend, and
// against a scripted daemon that says exactly what a test needs it to say.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "api/server.h"
#include "support/env.h"

namespace hotalloc::api::testing {
// Defined in api_handler_test.cpp and api_server_test.cpp.
model::Snapshot synthetic_snapshot();
std::unique_ptr<Backend> fake_backend(model::SnapshotPtr snapshot);
std::string make_temp_dir();
}  // namespace hotalloc::api::testing

namespace hotalloc::ctl {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fixture = api::testing;

// Accepts one connection and plays a script: a greeting, then (when given)
// one reply to each request; then waits for the client to leave, or with
// `hang_up` closes the connection after the first reply.
class ScriptedDaemon {
 public:
  ScriptedDaemon(const std::string& path, std::string greeting, std::string reply = "", bool hang_up = false) {
    auto addr = api::unix_address(path);
    fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!addr || bind(fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 ||
        listen(fd_.get(), 4) != 0) {
      ADD_FAILURE() << "scripted daemon cannot listen on " << path << ": " << std::strerror(errno);
      return;
    }
    thread_ = std::thread([this, greeting = std::move(greeting), reply = std::move(reply), hang_up] {
      if (!wait_readable(fd_.get())) return;
      api::UniqueFd c(accept(fd_.get(), nullptr, nullptr));
      send(c.get(), greeting.data(), greeting.size(), MSG_NOSIGNAL);
      std::string request;
      char buf[4096];
      while (wait_readable(c.get())) {
        ssize_t n = recv(c.get(), buf, sizeof buf, 0);
        if (n <= 0) return;
        request.append(buf, n);
        if (!reply.empty() && request.find('\n') != std::string::npos) {
          send(c.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
          if (hang_up) return;
          request.clear();
        }
      }
    });
  }
  ~ScriptedDaemon() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  static bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 10'000) == 1;
  }
  api::UniqueFd fd_;
  std::thread thread_;
};

constexpr const char* kGreeting =
    R"({"v":1,"hello":{"server":"hotallocd","version":"0.1.0","protocols":[1],"methods":["status"]}})" "\n";

struct Ran {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Table columns are padded to width; tests compare rows with single spaces.
std::string squeeze(const std::string& s) { return std::regex_replace(s, std::regex(" +"), " "); }

class CtlTest : public ::testing::Test {
 protected:
  CtlTest()
      : dir_(fixture::make_temp_dir()),
        ctl_(hotalloc::testing::build_dir() + "/hotallocctl"),
        backend_(fixture::fake_backend(std::make_shared<const model::Snapshot>(fixture::synthetic_snapshot()))),
        handler_(*backend_) {
    options_.path = dir_ + "/run/hotalloc.sock";
    options_.group = "";
  }
  ~CtlTest() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override { ASSERT_TRUE(std::filesystem::exists(ctl_)) << ctl_ << " is not built"; }

  void start() {
    auto s = api::Server::start(options_, handler_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    server_ = std::move(*s);
  }

  // Runs hotallocctl `args` against a scripted daemon that answers with
  // `result` (JSON), for what the client makes of a given reply.
  Ran ctl_answered(const std::string& args, const std::string& result) {
    std::filesystem::create_directories(dir_ + "/run");
    std::filesystem::remove(options_.path);
    ScriptedDaemon d(options_.path, kGreeting, R"({"v":1,"id":1,"ok":true,"result":)" + result + "}\n");
    return ctl(args);
  }

  // Runs a shell command, capturing its exit code, stdout and stderr.
  Ran shell(const std::string& command) {
    std::string out = dir_ + "/stdout", err = dir_ + "/stderr";
    int status = std::system((command + " >'" + out + "' 2>'" + err + "' </dev/null").c_str());
    Ran r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  // Runs hotallocctl with `args` (shell words), after `prefix` (env or setpriv).
  Ran run(const std::string& args, const std::string& prefix = "") {
    return shell(prefix + " '" + ctl_ + "' " + args);
  }
  Ran ctl(const std::string& args) { return run("--socket '" + options_.path + "' " + args); }
  json result_of(const std::string& method, json params = json::object()) {
    return *handler_.handle(api::Request{1, method, std::move(params)}, api::PeerCred{}).outcome;
  }

  std::string dir_;
  std::string ctl_;
  std::unique_ptr<api::Backend> backend_;
  api::Handler handler_;
  api::ServerOptions options_;
  std::unique_ptr<api::Server> server_;
};

TEST_F(CtlTest, StatusTable) {
  start();
  Ran r = ctl("status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::string s = squeeze(r.out);
  EXPECT_NE(s.find("hotallocd 0.1.0 (revision abc123, libbpf 1.1.2), pid 4242, up 1m40s, ready\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find("metrics :17911, socket /run/hotalloc/hotalloc.sock, map inserts off\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find("api (id 1, exe:/usr/bin/api): attached, go1.26.11, /usr/bin/api, pids 123 456\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" PROBE SYMBOL SITE PLACEMENT EMULATED ATTACHED HITS\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" refill runtime.(*mcache).refill +4 jbe 0x41a2f0 stack_check_branch yes yes 1000\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" large_alloc runtime.(*mcache).allocLarge +0 cmp rsp, qword ptr [r14 + 0x10] entry no no 0\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" large_alloc: attach: Permission denied\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find("worker (id 2, pid:999): failed, /usr/bin/worker, pids 999\n error: no .gopclntab in /usr/bin/worker\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find("drops: map_full 3\nmorestack skips: refill 7\n"), std::string::npos) << r.out;

  // Columns line up: every probe row starts its SYMBOL where the header does.
  std::istringstream lines(r.out);
  size_t symbol_col = std::string::npos;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("PROBE") != std::string::npos) symbol_col = line.find("SYMBOL");
    if (line.find("runtime.") != std::string::npos) {
      EXPECT_EQ(line.find("runtime."), symbol_col) << line;
    }
  }
}

TEST_F(CtlTest, SizeClassesTable) {
  start();
  Ran r = ctl("sizeclasses");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string s = squeeze(r.out);
  EXPECT_NE(s.find("api (go1.26.11)\n SIZE OBJECTS BYTES REFILLS NOSCAN%\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" 24 150 3.5 KiB 2 33%\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" 32768 3 96.0 KiB 0 100%\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" large 2 80.0 KiB\n tiny 777\n total 155 179.5 KiB\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find("\nworker\n"), std::string::npos) << r.out;

  Ran one = ctl("sizeclasses --target api");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.out.find("worker"), std::string::npos) << one.out;
  EXPECT_EQ(ctl("sizeclasses -t api").out, one.out);
}

TEST_F(CtlTest, TargetsTable) {
  start();
  Ran r = ctl("targets");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string s = squeeze(r.out);
  EXPECT_NE(s.find("ID NAME STATE GO PIDS SEEN EXE SPEC\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" 1 api attached go1.26.11 123,456 3 /usr/bin/api exe:/usr/bin/api\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find(" 2 worker failed - 999 1 /usr/bin/worker pid:999\n"), std::string::npos) << r.out;
  EXPECT_NE(s.find("worker: no .gopclntab in /usr/bin/worker\n"), std::string::npos) << r.out;
}

TEST_F(CtlTest, JsonPrintsTheMethodsResult) {
  start();
  for (std::string method : {"status", "targets", "sizeclasses"}) {
    Ran r = ctl("--json " + method);
    ASSERT_EQ(r.code, 0) << method << ": " << r.err;
    EXPECT_EQ(json::parse(r.out), result_of(method)) << method;
  }
  // Global flags may follow the subcommand.
  Ran after = ctl("sizeclasses --target worker --json");
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(json::parse(after.out), result_of("sizeclasses", {{"target", "worker"}}));
}

TEST_F(CtlTest, AnErrorReplyExits1) {
  start();
  Ran r = ctl("--json sizeclasses --target db");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json::parse(r.out), json::parse(R"({"code":"target_not_found","message":"no target named \"db\"",
                                              "data":{"targets":["api","worker"]}})"));
  EXPECT_EQ(r.err, "hotallocctl: target_not_found: no target named \"db\"\n");

  Ran human = ctl("sizeclasses --target db");
  EXPECT_EQ(human.code, 1);
  EXPECT_EQ(human.out, "");
  EXPECT_EQ(human.err, r.err);
}

TEST_F(CtlTest, TheSocketCanComeFromTheEnvironment) {
  start();
  Ran r = run("targets", "HOTALLOC_SOCKET='" + options_.path + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("api"), std::string::npos);
}

TEST_F(CtlTest, NoDaemonExits69) {
  Ran missing = ctl("status");
  EXPECT_EQ(missing.code, 69);
  EXPECT_NE(missing.err.find("No such file or directory"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.out, "");

  // A socket whose daemon died: connection refused.
  std::filesystem::create_directory(dir_ + "/run");
  api::UniqueFd dead(socket(AF_UNIX, SOCK_STREAM, 0));
  auto addr = api::unix_address(options_.path);
  ASSERT_EQ(bind(dead.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr), 0);
  Ran refused = ctl("--json status");
  EXPECT_EQ(refused.code, 69);
  EXPECT_NE(refused.err.find("Connection refused"), std::string::npos) << refused.err;
}

TEST_F(CtlTest, ABusyDaemonExits69) {
  options_.max_clients = 0;
  start();
  Ran r = ctl("status");
  EXPECT_EQ(r.code, 69);
  EXPECT_NE(r.err.find("busy"), std::string::npos) << r.err;
}

TEST_F(CtlTest, ADaemonThatDoesNotAnswerInTimeExits69) {
  std::filesystem::create_directory(dir_ + "/run");
  ScriptedDaemon mute(options_.path, kGreeting);
  auto begin = std::chrono::steady_clock::now();
  Ran r = ctl("--timeout 300ms status");
  EXPECT_EQ(r.code, 69);
  EXPECT_NE(r.err.find("no answer"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
}

TEST_F(CtlTest, UsageErrorsExit2) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("--bogus status").code, 2);
  EXPECT_EQ(run("frobnicate").code, 2);
  EXPECT_EQ(run("status --timeout soon").code, 2);
  EXPECT_EQ(run("sizeclasses --target").code, 2);
  EXPECT_EQ(run("--socket '' status").code, 2);
  EXPECT_EQ(run("--socket /" + std::string(200, 's') + " status").code, 2);
}

TEST_F(CtlTest, HelpAndVersionExit0) {
  Ran help = run("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Examples:"), std::string::npos);
  EXPECT_NE(help.out.find("sizeclasses"), std::string::npos);
  EXPECT_NE(help.out.find("77 permission denied"), std::string::npos);
  Ran version = run("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out.rfind("hotallocctl " HOTALLOC_VERSION " (revision ", 0), 0u) << version.out;
}

struct Mismatch {
  const char* what;
  std::string greeting;
  std::string reply;
  bool hang_up = false;
};

TEST_F(CtlTest, ProtocolMismatchOrGarbageExits76) {
  std::filesystem::create_directory(dir_ + "/run");
  const Mismatch cases[] = {
      {"not a greeting", "SSH-2.0-OpenSSH_9.2\r\n", ""},
      {"a future protocol only", R"({"v":2,"hello":{"server":"hotallocd","protocols":[2]}})" "\n", ""},
      {"unsupported_version",
       kGreeting,
       R"({"v":1,"id":1,"ok":false,"error":{"code":"unsupported_version","message":"no","data":{"supported":[2]}}})" "\n"},
      {"a garbage reply", kGreeting, "<html>\n"},
      {"a reply to another request", kGreeting, R"({"v":1,"id":99,"ok":true,"result":{}})" "\n"},
      {"half a line, then a hang-up", kGreeting, R"({"v":1,"id":1,"ok":tr)", true},
      {"a result of the wrong shape", kGreeting, R"({"v":1,"id":1,"ok":true,"result":[1,2]})" "\n"},
  };
  for (const Mismatch& m : cases) {
    std::filesystem::remove(options_.path);
    Ran r;
    {
      ScriptedDaemon d(options_.path, m.greeting, m.reply, m.hang_up);
      r = ctl("--timeout 2s status");
    }
    EXPECT_EQ(r.code, 76) << m.what << ": " << r.err;
  }
}

// Parts of an answer that no hotallocd sends are protocol mismatches too,
// in a stream (pprof) or in the first of two calls (hotkeys --for).
TEST_F(CtlTest, AMalformedPprofChunkOrHotkeysWindowExits76) {
  std::filesystem::create_directory(dir_ + "/run");
  const std::string profile = dir_ + "/heap.pb.gz";
  const struct {
    const char* what;
    std::string args, reply;
  } cases[] = {
      {"a chunk that is not a string", "pprof -o '" + profile + "'",
       R"({"v":1,"id":1,"ok":true,"more":true,"result":{"chunk":5}})" "\n"},
      {"a chunk that is not base64", "pprof -o '" + profile + "'",
       R"({"v":1,"id":1,"ok":true,"more":true,"result":{"chunk":"@@@@"}})" "\n"},
      {"map_inserts without a window", "hotkeys --for 1s", R"({"v":1,"id":1,"ok":true,"result":{"on":true}})" "\n"},
      {"a window id that is not a number", "hotkeys --for 1s",
       R"({"v":1,"id":1,"ok":true,"result":{"on":true,"window":{"id":"3"}}})" "\n"},
  };
  for (const auto& c : cases) {
    std::filesystem::remove(options_.path);
    Ran r;
    {
      ScriptedDaemon d(options_.path, kGreeting, c.reply);
      r = ctl("--timeout 2s " + c.args);
    }
    EXPECT_EQ(r.code, 76) << c.what << ": " << r.err;
    EXPECT_NE(r.err.find("hotallocctl: "), std::string::npos) << c.what;
    EXPECT_FALSE(std::filesystem::exists(profile)) << c.what;
    EXPECT_FALSE(std::filesystem::exists(profile + ".tmp")) << c.what;
  }
}

// The daemon opens windows of whole seconds: --for 200ms asks for 1 s and
// waits for all of it, and the collection margin, before asking for keys.
TEST_F(CtlTest, HotkeysForWaitsForTheWindowTheDaemonOpens) {
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::optional<Clock::time_point> opened, asked;
  json for_seconds, window;
  handler_.add({"map_inserts", false, [&](const api::Request& r) -> api::Outcome {
                  std::lock_guard lock(mu);
                  opened = Clock::now();
                  for_seconds = r.params.value("for_seconds", json());
                  return json{{"mode", "off"}, {"on", true}, {"window", {{"id", 7}}}};
                }});
  handler_.add({"hotkeys", false, [&](const api::Request& r) -> api::Outcome {
                  std::lock_guard lock(mu);
                  asked = Clock::now();
                  window = r.params.value("window", json());
                  return json{{"target", "api"}, {"window_seconds", 1.0}, {"maps", json::array()}};
                }});
  start();
  Ran r = ctl("--json hotkeys --for 200ms");
  server_.reset();  // no more calls into this test's state
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(for_seconds, 1);
  EXPECT_EQ(window, 7);
  ASSERT_TRUE(opened && asked);
  EXPECT_GE(*asked - *opened, 2500ms);  // 1 s and the 1.5 s margin
  EXPECT_EQ(json::parse(r.out)["window_seconds"], 1.0);
}

// Commands that ask more than once (events --follow) print an error reply
// exactly as a single call does.
TEST_F(CtlTest, RepeatingCommandsReportErrorsAsOneCallDoes) {
  std::filesystem::create_directory(dir_ + "/run");
  const std::string error = R"({"code":"target_not_found","message":"no target named \"db\"","data":{"targets":["api"]}})";
  const std::string reply = R"({"v":1,"id":1,"ok":false,"error":)" + error + "}\n";
  Ran follow, once;
  {
    ScriptedDaemon d(options_.path, kGreeting, reply);
    follow = ctl("--json events --follow --target db");
  }
  std::filesystem::remove(options_.path);
  {
    ScriptedDaemon d(options_.path, kGreeting, reply);
    once = ctl("--json events --target db");
  }
  EXPECT_EQ(follow.code, 1) << follow.err;
  EXPECT_EQ(json::parse(follow.out), json::parse(error));
  EXPECT_EQ(follow.out, once.out);
  EXPECT_EQ(follow.err, once.err);
  EXPECT_EQ(once.code, 1);
}

// Sites of one name have it as a header; sites of several each name theirs.
TEST_F(CtlTest, SlicesSayWhoseEachSiteIs) {
  auto slices = [&](const std::string& result) { return ctl_answered("slices", result); };
  const std::string api_site = R"({"target":"api","site":"a.go:1","function":"main.f","elem_type":"int64",)"
                               R"("growths":5,"from_empty":1,"max_cap":64,"copied_bytes":0,"alloc_bytes":1024})";
  const std::string worker_site = R"({"target":"worker","site":"w.go:2","function":"main.g","elem_type":"byte",)"
                                  R"("growths":3,"from_empty":1,"max_cap":16,"copied_bytes":0,"alloc_bytes":16})";

  Ran one = slices(R"({"target":"api","sites":[)" + api_site + "]}");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(squeeze(one.out), "api\nSITE FUNCTION ELEM GROWTHS FROM EMPTY MAX CAP COPIED ALLOCATED\n"
                              "a.go:1 main.f int64 5 1 64 0 B 1.0 KiB\n");

  Ran several = slices(R"({"target":null,"sites":[)" + api_site + "," + worker_site + "]}");
  ASSERT_EQ(several.code, 0) << several.err;
  EXPECT_EQ(squeeze(several.out), "TARGET SITE FUNCTION ELEM GROWTHS FROM EMPTY MAX CAP COPIED ALLOCATED\n"
                                  "api a.go:1 main.f int64 5 1 64 0 B 1.0 KiB\n"
                                  "worker w.go:2 main.g byte 3 1 16 0 B 16 B\n");
}

// `maps` says how many maps are counted for their sites but not listed,
// and prints nothing of the kind for a daemon whose reply has no such count.
TEST_F(CtlTest, MapsSayWhatIsNotListed) {
  auto maps = [&](const std::string& result) { return ctl_answered("maps", result); };
  Ran none = maps(R"({"target":"api","maps":[],"unlisted":{"quiet":1,"parked":0}})");
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(squeeze(none.out), "api\nno maps listed yet\n"
                               "not listed, counted for their sites: 1 map never did more than exist (made, at most a "
                               "first group)\n");
  Ran both = maps(R"({"target":"api","maps":[],"unlisted":{"quiet":12,"parked":3}})");
  ASSERT_EQ(both.code, 0) << both.err;
  EXPECT_EQ(squeeze(both.out), "api\nno maps listed yet\n"
                               "not listed, counted for their sites: 12 maps never did more than exist (made, at most "
                               "a first group); 3 maps parked over the limit\n");
  Ran older = maps(R"({"target":"api","maps":[]})");
  ASSERT_EQ(older.code, 0) << older.err;
  EXPECT_EQ(squeeze(older.out), "api\nno maps listed yet\n");
}

TEST_F(CtlTest, PermissionDeniedExits77) {
  std::filesystem::create_directory(dir_ + "/run");
  {
    ScriptedDaemon d(options_.path, kGreeting,
                     R"({"v":1,"id":1,"ok":false,"error":{"code":"permission_denied","message":"admins only"}})" "\n");
    Ran r = ctl("--json status");
    EXPECT_EQ(r.code, 77) << r.err;
    EXPECT_EQ(json::parse(r.out)["code"], "permission_denied");
  }
  std::filesystem::remove(options_.path);
  start();
  Ran r;
  if (geteuid() == 0) {
    // Root passes every permission check, so ask as nobody. With the
    // directories open, the socket's own mode 0660 is what keeps it out.
    HOTALLOC_REQUIRE(std::system(("setpriv --reuid=65534 --regid=65534 --clear-groups test -x '" + ctl_ + "'").c_str()) == 0,
                     "setpriv, and " + ctl_ + " executable by uid 65534");
    ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
    ASSERT_EQ(chmod((dir_ + "/run").c_str(), 0755), 0);
    r = run("--socket '" + options_.path + "' status", "setpriv --reuid=65534 --regid=65534 --clear-groups");
  } else {
    ASSERT_EQ(chmod((dir_ + "/run").c_str(), 0), 0);
    r = ctl("status");
    chmod((dir_ + "/run").c_str(), 0750);
  }
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("group hotalloc"), std::string::npos) << r.err;
}

TEST_F(CtlTest, ColorOnlyOnATerminalAndNeverUnderNoColor) {
  HOTALLOC_REQUIRE(std::system("command -v script >/dev/null") == 0, "script(1) from bsdutils, for a terminal");
  start();
  auto on_tty = [&](const std::string& env) {
    return shell("script -qec \"" + env + " '" + ctl_ + "' --socket '" + options_.path + "' targets\" /dev/null");
  };
  EXPECT_NE(on_tty("TERM=xterm").out.find("\x1b[32mattached"), std::string::npos);
  Ran plain = on_tty("TERM=xterm NO_COLOR=1");
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("attached"), std::string::npos) << plain.out;
  EXPECT_EQ(ctl("targets").out.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace hotalloc::ctl
