// Streamed answers through a real socket: partial replies then a last one,
// pulled as the client reads, in order with the requests pipelined after
// them, and sources that produce on another thread and wake the server.
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "api/server.h"

namespace hotalloc::api::testing {

std::string make_temp_dir();  // api_server_test.cpp

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class NoSnapshots final : public Backend {
 public:
  model::SnapshotPtr snapshot(std::chrono::milliseconds) override { return nullptr; }
};

// `parts` partial replies of `size` bytes each, then a last one.
class Counting final : public ReplySource {
 public:
  Counting(json id, int parts, size_t size) : stream_(std::move(id)), parts_(parts), size_(size) {}
  std::optional<Reply> next() override {
    if (sent_ == parts_) return stream_.last({{"parts", sent_}});
    return stream_.partial({{"part", sent_++}, {"data", std::string(size_, 'x')}});
  }

 private:
  ReplyStream stream_;
  int parts_;
  size_t size_;
  int sent_ = 0;
};

// Has nothing until another thread says so, then ends.
class Later final : public ReplySource {
 public:
  Later(json id, Wake wake) : stream_(std::move(id)) {
    producer_ = std::thread([this, wake = std::move(wake)] {
      std::this_thread::sleep_for(100ms);
      ready_ = true;
      wake();
    });
  }
  ~Later() override { producer_.join(); }
  std::optional<Reply> next() override {
    if (!ready_) return std::nullopt;
    return stream_.last({{"late", true}});
  }

 private:
  ReplyStream stream_;
  std::atomic<bool> ready_ = false;
  std::thread producer_;
};

class Lines {
 public:
  explicit Lines(const std::string& path) {
    auto addr = unix_address(path);
    fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_TRUE(addr && connect(fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0);
  }
  void send(const std::string& s) { ASSERT_EQ(::send(fd_.get(), s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size())); }
  json next() {
    for (;;) {
      if (auto l = in_.next_line()) return json::parse(*l);
      pollfd p{fd_.get(), POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return nullptr;
      char buf[65536];
      ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return nullptr;
      in_.append({buf, static_cast<size_t>(n)});
    }
  }

 private:
  UniqueFd fd_;
  LineBuffer in_;
};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    handler_.add({"ping", false, [](const Request&) -> Outcome { return json{{"pong", true}}; }});
    Method count{"count", false, nullptr};
    count.open = [](const Request& r, const Wake&) -> Opened {
      return std::make_unique<Counting>(r.id, r.params.value("parts", 3), r.params.value("size", size_t{16}));
    };
    handler_.add(std::move(count));
    Method later{"later", false, nullptr};
    later.open = [](const Request& r, Wake wake) -> Opened { return std::make_unique<Later>(r.id, std::move(wake)); };
    handler_.add(std::move(later));
    Method refused{"refused", true, nullptr};
    refused.open = [](const Request& r, const Wake&) -> Opened { return std::make_unique<Counting>(r.id, 1, 1); };
    handler_.add(std::move(refused));
    ServerOptions o;
    o.path = dir_ + "/s.sock";
    o.group.clear();
    auto s = Server::start(o, handler_);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  NoSnapshots backend_;
  Handler handler_{backend_};
  std::unique_ptr<Server> server_;
};

TEST_F(StreamTest, PartsThenTheLastThenTheNextRequest) {
  Lines c(dir_ + "/s.sock");
  ASSERT_TRUE(c.next().contains("hello"));
  c.send(R"({"id":1,"method":"count","params":{"parts":3}})" "\n" R"({"id":2,"method":"ping"})" "\n");
  for (int i = 0; i < 3; i++) {
    json r = c.next();
    EXPECT_EQ(r.at("id"), 1);
    EXPECT_EQ(r.at("more"), true);
    EXPECT_EQ(r.at("result").at("part"), i);
  }
  json last = c.next();
  EXPECT_EQ(last.at("more"), false);
  EXPECT_EQ(last.at("result").at("parts"), 3);
  json ping = c.next();
  EXPECT_EQ(ping.at("id"), 2);
  EXPECT_FALSE(ping.contains("more"));
  EXPECT_EQ((server_->request_counts()[{"count", "ok"}]), 1u);
}

TEST_F(StreamTest, LargeStreamsFollowTheReader) {
  Lines c(dir_ + "/s.sock");
  ASSERT_TRUE(c.next().contains("hello"));
  // 8 MiB, far past what the server queues for one client.
  c.send(R"({"id":"big","method":"count","params":{"parts":128,"size":65536}})" "\n");
  std::this_thread::sleep_for(200ms);  // a slow reader: the server must wait, then go on
  int parts = 0;
  for (json r = c.next(); !r.is_null(); r = c.next()) {
    if (r.at("more") == false) break;
    EXPECT_EQ(r.at("result").at("part"), parts++);
  }
  EXPECT_EQ(parts, 128);
}

TEST_F(StreamTest, SourcesOnOtherThreadsWakeTheServer) {
  Lines c(dir_ + "/s.sock");
  ASSERT_TRUE(c.next().contains("hello"));
  c.send(R"({"id":5,"method":"later"})" "\n" R"({"id":6,"method":"ping"})" "\n");
  json r = c.next();
  EXPECT_EQ(r.at("id"), 5);
  EXPECT_EQ(r.at("more"), false);
  EXPECT_EQ(r.at("result").at("late"), true);
  EXPECT_EQ(c.next().at("id"), 6);
}

TEST_F(StreamTest, AdminStreamsAreRefusedLikeAnyAdminMethod) {
  PeerCred nobody{.pid = 1, .uid = 1000, .gid = 1000, .admin = false};
  Answer a = handler_.answer(Request{9, "refused"}, nobody, {});
  ASSERT_TRUE(std::holds_alternative<Reply>(a));
  EXPECT_EQ(std::get<Reply>(a).outcome.error().code, ErrorCode::permission_denied);
  // handle() has one reply to give: a stream is not one.
  Reply r = handler_.handle(Request{9, "count"}, PeerCred{.admin = true});
  EXPECT_EQ(r.outcome.error().code, ErrorCode::internal);
}

}  // namespace
}  // namespace hotalloc::api::testing
