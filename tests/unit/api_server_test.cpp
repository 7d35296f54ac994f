#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "api/server.h"

namespace hotalloc::api::testing {

// Defined in api_handler_test.cpp.
model::Snapshot synthetic_snapshot();
std::unique_ptr<Backend> fake_backend(model::SnapshotPtr snapshot);

// A fresh directory for one test's sockets, short enough for sun_path.
// Shared with the hotallocctl tests.
std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hotalloc-api-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  return tmpl;
}

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A client that speaks raw bytes, so tests can send what hotallocctl never would.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    auto addr = unix_address(path);
    fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    connected_ = addr && connect(fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0;
  }
  bool connected() const { return connected_; }

  void send_bytes(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << std::strerror(errno);
      bytes.remove_prefix(n);
    }
  }
  void finish_sending() { shutdown(fd_.get(), SHUT_WR); }
  void hang_up() { shutdown(fd_.get(), SHUT_RDWR); }  // unblocks a writer stuck in send()

  // The next line, or nothing at end of stream or after `wait`.
  std::optional<std::string> line(std::chrono::milliseconds wait = 5s) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      if (auto l = in_.next_line()) return l;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_.get(), POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, left.count()) <= 0) return std::nullopt;
      char buf[65536];
      ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in_.append({buf, static_cast<size_t>(n)});
    }
  }
  json reply(std::chrono::milliseconds wait = 5s) {
    auto l = line(wait);
    EXPECT_TRUE(l.has_value()) << "no reply";
    return l ? json::parse(*l) : json();
  }
  // True when the server closes the connection within `wait`.
  bool closed_within(std::chrono::milliseconds wait) {
    auto l = line(wait);
    EXPECT_FALSE(l.has_value()) << "unexpected line: " << *l;
    pollfd p{fd_.get(), POLLIN, 0};
    char c;
    return poll(&p, 1, 0) == 1 && recv(fd_.get(), &c, 1, MSG_DONTWAIT) == 0;
  }

 private:
  UniqueFd fd_;
  LineBuffer in_;
  bool connected_ = false;
};

class ApiServerTest : public ::testing::Test {
 protected:
  ApiServerTest()
      : dir_(make_temp_dir()),
        backend_(fake_backend(std::make_shared<const model::Snapshot>(synthetic_snapshot()))),
        handler_(*backend_) {
    options_.path = dir_ + "/run/hotalloc.sock";
    options_.group = "";
  }
  ~ApiServerTest() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    auto s = Server::start(options_, handler_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    server_ = std::move(*s);
  }
  // A connected client past the greeting.
  std::unique_ptr<RawClient> client() {
    auto c = std::make_unique<RawClient>(options_.path);
    EXPECT_TRUE(c->connected());
    auto hello = c->line();
    EXPECT_TRUE(hello && parse_hello(*hello)) << hello.value_or("(none)");
    return c;
  }

  std::string dir_;
  std::unique_ptr<Backend> backend_;
  Handler handler_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
};

TEST_F(ApiServerTest, GreetsWithVersionAndMethods) {
  start();
  RawClient c(options_.path);
  ASSERT_TRUE(c.connected());
  auto line = c.line();
  ASSERT_TRUE(line);
  json hello = json::parse(*line);
  EXPECT_EQ(hello["v"], 1);
  EXPECT_EQ(hello["hello"]["server"], "hotallocd");
  EXPECT_EQ(hello["hello"]["version"], HOTALLOC_VERSION);
  EXPECT_EQ(hello["hello"]["protocols"], json::array({1}));
  EXPECT_EQ(hello["hello"]["methods"], json::array({"status", "targets", "sizeclasses"}));
}

TEST_F(ApiServerTest, AnswersRequestsInOrder) {
  start();
  auto c = client();
  c->send_bytes("{\"v\":1,\"id\":1,\"method\":\"status\"}\n{\"id\":\"two\",\"method\":\"targets\"}\n");
  json first = c->reply();
  json second = c->reply();
  EXPECT_EQ(first["id"], 1);
  EXPECT_EQ(first["ok"], true);
  EXPECT_EQ(first["result"]["daemon"]["pid"], 4242);
  EXPECT_EQ(second["id"], "two");
  EXPECT_EQ(second["result"]["targets"][0]["name"], "api");
}

TEST_F(ApiServerTest, AMalformedLineGetsAnErrorAndTheConnectionGoesOn) {
  start();
  auto c = client();
  c->send_bytes("this is not json\n\n{\"id\":2,\"method\":\"sizeclasses\",\"params\":{\"target\":\"api\"}}\n");
  json bad = c->reply();
  EXPECT_EQ(bad["ok"], false);
  EXPECT_EQ(bad["error"]["code"], "bad_request");
  EXPECT_TRUE(bad["id"].is_null());
  json good = c->reply();
  EXPECT_EQ(good["id"], 2);
  EXPECT_EQ(good["result"]["targets"][0]["totals"]["objects"], 155);
}

TEST_F(ApiServerTest, ALastLineWithoutNewlineIsAnsweredAtEndOfInput) {
  start();
  auto c = client();
  c->send_bytes(R"({"id":5,"method":"targets"})");
  c->finish_sending();
  EXPECT_EQ(c->reply()["id"], 5);
  EXPECT_TRUE(c->closed_within(2s));
}

TEST_F(ApiServerTest, ATooLargeRequestIsRefusedAndTheConnectionClosed) {
  options_.max_request_bytes = 1024;
  start();
  auto c = client();
  // A complete request first is still answered.
  c->send_bytes("{\"id\":1,\"method\":\"targets\"}\n");
  c->send_bytes(std::string(4000, 'x'));  // no newline: caught before it ends
  EXPECT_EQ(c->reply()["id"], 1);
  json r = c->reply();
  EXPECT_EQ(r["error"]["code"], "request_too_large");
  EXPECT_TRUE(c->closed_within(2s));

  auto d = client();
  d->send_bytes(R"({"id":1,"method":"status","pad":")" + std::string(2000, 'p') + "\"}\n");
  EXPECT_EQ(d->reply()["error"]["code"], "request_too_large");
  EXPECT_TRUE(d->closed_within(2s));
}

TEST_F(ApiServerTest, AClientPastTheLimitIsTurnedAwayBusy) {
  options_.max_clients = 2;
  start();
  auto a = client();
  auto b = client();
  RawClient extra(options_.path);
  ASSERT_TRUE(extra.connected());
  auto line = extra.line();
  ASSERT_TRUE(line);
  json busy = json::parse(*line);
  EXPECT_EQ(busy["ok"], false);
  EXPECT_EQ(busy["error"]["code"], "busy");
  EXPECT_TRUE(extra.closed_within(2s));

  // A freed place is taken again.
  a.reset();
  bool greeted = false;
  for (int i = 0; i < 100 && !greeted; i++) {
    RawClient again(options_.path);
    auto l = again.line();
    greeted = l && parse_hello(*l).has_value();
    if (!greeted) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(greeted);
}

TEST_F(ApiServerTest, AnIdleClientIsClosed) {
  options_.idle_timeout = 1s;
  start();
  auto c = client();
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(c->closed_within(5s));
  auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 3s);
}

TEST_F(ApiServerTest, AClientThatPipelinesWithoutReadingGetsEveryReply) {
  start();
  auto c = client();
  constexpr int kRequests = 2000;  // about 3 MiB of replies: past the output high-water mark
  std::string batch;
  for (int i = 0; i < kRequests; i++) batch += R"({"id":)" + std::to_string(i) + R"(,"method":"status"})" "\n";
  std::thread writer([&] { c->send_bytes(batch); });
  int next = 0;
  while (next < kRequests) {
    auto l = c->line();
    if (!l || json::parse(*l)["id"] != next) break;  // out of order: caught below
    next++;
  }
  if (next < kRequests) c->hang_up();
  writer.join();
  EXPECT_EQ(next, kRequests);
}

TEST_F(ApiServerTest, CountsRequestsByMethodAndCode) {
  start();
  auto c = client();
  c->send_bytes(
      "{\"id\":1,\"method\":\"status\"}\n"
      "{\"id\":2,\"method\":\"status\"}\n"
      "{\"id\":3,\"method\":\"sizeclasses\",\"params\":{\"target\":\"nope\"}}\n"
      "{\"id\":4,\"method\":\"random-name-1\"}\n"
      "{\"id\":5,\"v\":2,\"method\":\"status\"}\n"
      "garbage\n");
  for (int i = 0; i < 6; i++) c->reply();
  using Counts = std::map<std::pair<std::string, std::string>, uint64_t>;
  EXPECT_EQ(server_->request_counts(), (Counts{{{"status", "ok"}, 2},
                                               {{"sizeclasses", "target_not_found"}, 1},
                                               {{"other", "unknown_method"}, 1},
                                               // Not read past its version: the method is unknown too.
                                               {{"other", "unsupported_version"}, 1},
                                               {{"other", "bad_request"}, 1}}));
}

TEST_F(ApiServerTest, CreatesTheDirectory0750AndTheSocket0660) {
  start();
  struct stat dir {}, sock {};
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &dir), 0);
  ASSERT_EQ(lstat(options_.path.c_str(), &sock), 0);
  EXPECT_TRUE(S_ISDIR(dir.st_mode));
  EXPECT_EQ(dir.st_mode & 07777, 0750u);
  EXPECT_TRUE(S_ISSOCK(sock.st_mode));
  EXPECT_EQ(sock.st_mode & 07777, 0660u);
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(options_.path)) << "socket left behind";
}

TEST_F(ApiServerTest, GivesTheSocketToTheConfiguredGroup) {
  group* g = getgrnam("nogroup");
  if (!g || geteuid() != 0) GTEST_SKIP() << "needs root and group nogroup to change a file's group";
  options_.group = "nogroup";
  start();
  struct stat dir {}, sock {};
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &dir), 0);
  ASSERT_EQ(lstat(options_.path.c_str(), &sock), 0);
  EXPECT_EQ(sock.st_gid, g->gr_gid);
  EXPECT_EQ(dir.st_gid, g->gr_gid);
}

TEST_F(ApiServerTest, AMissingGroupLeavesTheGroupAlone) {
  options_.group = "hotalloc-no-such-group";
  start();
  struct stat sock {};
  ASSERT_EQ(lstat(options_.path.c_str(), &sock), 0);
  EXPECT_EQ(sock.st_gid, getegid());
}

TEST_F(ApiServerTest, LeavesAnExistingDirectoryAsItIs) {
  std::filesystem::create_directory(dir_ + "/run");
  ASSERT_EQ(chmod((dir_ + "/run").c_str(), 0755), 0);
  start();
  struct stat dir {};
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &dir), 0);
  EXPECT_EQ(dir.st_mode & 07777, 0755u);
}

TEST_F(ApiServerTest, ReplacesAStaleSocket) {
  std::filesystem::create_directory(dir_ + "/run");
  {
    // A daemon that died: its socket file stays, with nobody listening.
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM, 0));
    auto addr = unix_address(options_.path);
    ASSERT_EQ(bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr), 0);
  }
  ASSERT_TRUE(std::filesystem::exists(options_.path));
  start();
  auto c = client();
  c->send_bytes("{\"id\":1,\"method\":\"targets\"}\n");
  EXPECT_EQ(c->reply()["ok"], true);
}

TEST_F(ApiServerTest, RefusesASocketALiveDaemonServes) {
  start();
  auto second = Server::start(options_, handler_);
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find("another daemon is serving"), std::string::npos) << second.error().message;
  // The first one is untouched.
  auto c = client();
  c->send_bytes("{\"id\":1,\"method\":\"targets\"}\n");
  EXPECT_EQ(c->reply()["ok"], true);
}

TEST_F(ApiServerTest, RefusesToReplaceWhatIsNotASocket) {
  std::filesystem::create_directory(dir_ + "/run");
  std::ofstream(options_.path) << "precious";
  auto s = Server::start(options_, handler_);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("not a socket"), std::string::npos) << s.error().message;
  std::ifstream in(options_.path);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(ApiServerTest, RefusesAPathTooLongForASocket) {
  options_.path = dir_ + "/" + std::string(120, 'p');
  auto s = Server::start(options_, handler_);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("must be 1 to 107 bytes"), std::string::npos) << s.error().message;
}

TEST_F(ApiServerTest, StopsWithClientsConnected) {
  start();
  auto a = client();
  auto b = client();
  server_.reset();
  EXPECT_TRUE(a->closed_within(2s));
  EXPECT_FALSE(std::filesystem::exists(options_.path));
}

}  // namespace
}  // namespace hotalloc::api::testing
