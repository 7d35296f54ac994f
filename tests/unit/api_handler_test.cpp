#include <stdexcept>

#include <gtest/gtest.h>

#include "api/handler.h"

namespace hotalloc::api::testing {

// A snapshot with one healthy and one failed target, every field set to a
// value that cannot be mistaken for another. The server and hotallocctl
// tests declare and use it too.
model::Snapshot synthetic_snapshot() {
  model::Snapshot s;
  s.generation = 42;
  s.taken_unix_ms = 1'700'000'100'500;
  s.ready = true;
  s.daemon = {"0.1.0", "abc123", "1.1.2", 4242, 1'700'000'000'000, ":17911", "/run/hotalloc/hotalloc.sock", "off"};

  model::TargetView api;
  api.id = 1;
  api.name = "api";
  api.spec = "exe:/usr/bin/api";
  api.state = model::TargetState::attached;
  api.exe = "/usr/bin/api";
  api.go_version = "go1.26.11";
  api.processes = {{123, 9001, true}, {456, 9002, true}, {789, 9003, false}};
  api.processes_seen = 3;
  api.probes = {
      {"refill", "runtime.(*mcache).refill", 0x41a2c0, 4, 0x1a2c4, "jbe 0x41a2f0", "stack_check_branch", true, true,
       ""},
      {"large_alloc", "runtime.(*mcache).allocLarge", 0x40b100, 0, 0xb100, "cmp rsp, qword ptr [r14 + 0x10]",
       "entry", false, false, "attach: Permission denied"},
  };
  api.alloc.small_objects[2 * 3] = 100;  // 24 B, scan
  api.alloc.small_objects[2 * 3 + 1] = 50;  // 24 B, noscan
  api.alloc.refills[2 * 3 + 1] = 2;
  api.alloc.small_objects[2 * 67 + 1] = 3;  // 32 KiB, noscan
  api.alloc.large_objects = 2;
  api.alloc.large_bytes = 81920;
  api.alloc.tiny_objects = 777;

  model::TargetView worker;
  worker.id = 2;
  worker.name = "worker";
  worker.spec = "pid:999";
  worker.state = model::TargetState::failed;
  worker.error = "no .gopclntab in /usr/bin/worker";
  worker.exe = "/usr/bin/worker";
  worker.processes = {{999, 5, true}};
  worker.processes_seen = 1;

  s.targets = {api, worker};
  s.probes = {{"refill", 1000, 7, 1, 0.5}, {"large_alloc", 0, 0, 0, 0}};
  s.drops = {{"ringbuf_full", 0}, {"map_full", 3}};
  return s;
}

namespace {
class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(model::SnapshotPtr s) : snapshot_(std::move(s)) {}
  model::SnapshotPtr snapshot(std::chrono::milliseconds max_age) override {
    last_max_age = max_age;
    return snapshot_;
  }
  std::chrono::milliseconds last_max_age{-1};

 private:
  model::SnapshotPtr snapshot_;
};
}  // namespace

std::unique_ptr<Backend> fake_backend(model::SnapshotPtr snapshot) {
  return std::make_unique<FakeBackend>(std::move(snapshot));
}

namespace {

using nlohmann::json;

class ApiHandlerTest : public ::testing::Test {
 protected:
  ApiHandlerTest()
      : backend_(std::make_shared<const model::Snapshot>(synthetic_snapshot())), handler_(backend_) {}

  Reply call(const std::string& method, json params = json::object(), PeerCred peer = {}) {
    return handler_.handle(Request{11, method, std::move(params)}, peer);
  }
  json result(const std::string& method, json params = json::object()) {
    Reply r = call(method, std::move(params));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.outcome.error().message);
    EXPECT_EQ(r.id, 11);
    return r.ok() ? *r.outcome : json();
  }
  ApiError error(const std::string& method, json params = json::object(), PeerCred peer = {}) {
    Reply r = call(method, std::move(params), peer);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.id, 11);
    return r.ok() ? ApiError{} : r.outcome.error();
  }

  FakeBackend backend_;
  Handler handler_;
};

TEST_F(ApiHandlerTest, ListsItsMethodsInOrder) {
  EXPECT_EQ(handler_.methods(), (std::vector<std::string>{"status", "targets", "sizeclasses"}));
  EXPECT_TRUE(handler_.has_method("targets"));
  EXPECT_FALSE(handler_.has_method("attach"));
}

TEST_F(ApiHandlerTest, AsksForAFreshSnapshot) {
  result("targets");
  EXPECT_EQ(backend_.last_max_age, Handler::kMaxAge);
  EXPECT_LE(Handler::kMaxAge, std::chrono::milliseconds(1000)) << "DESIGN.md: answers are fresh to about a second";
}

TEST_F(ApiHandlerTest, Status) {
  EXPECT_EQ(result("status"), json::parse(R"json({
    "daemon": {"version": "0.1.0", "revision": "abc123", "libbpf_version": "1.1.2", "pid": 4242,
               "started_unix_ms": 1700000000000, "uptime_seconds": 100, "http_address": ":17911",
               "socket": "/run/hotalloc/hotalloc.sock", "map_inserts": "off"},
    "ready": true,
    "generation": 42,
    "taken_unix_ms": 1700000100500,
    "targets": [
      {"id": 1, "name": "api", "spec": "exe:/usr/bin/api", "state": "attached", "error": null,
       "exe": "/usr/bin/api", "go_version": "go1.26.11", "pids": [123, 456],
       "probes": [
         {"probe": "refill", "symbol": "runtime.(*mcache).refill", "function_address": 4301504,
          "site_offset": 4, "file_offset": 107204, "instruction": "jbe 0x41a2f0",
          "placement": "stack_check_branch", "emulated": true, "attached": true, "error": null},
         {"probe": "large_alloc", "symbol": "runtime.(*mcache).allocLarge", "function_address": 4239616,
          "site_offset": 0, "file_offset": 45312, "instruction": "cmp rsp, qword ptr [r14 + 0x10]",
          "placement": "entry", "emulated": false, "attached": false, "error": "attach: Permission denied"}]},
      {"id": 2, "name": "worker", "spec": "pid:999", "state": "failed",
       "error": "no .gopclntab in /usr/bin/worker", "exe": "/usr/bin/worker", "go_version": "",
       "pids": [999], "probes": []}],
    "probe_health": [
      {"probe": "refill", "hits": 1000, "morestack_skips": 7, "links": 1},
      {"probe": "large_alloc", "hits": 0, "morestack_skips": 0, "links": 0}],
    "drops": {"map_full": 3, "ringbuf_full": 0}
  })json"));
}

TEST_F(ApiHandlerTest, Targets) {
  EXPECT_EQ(result("targets"), json::parse(R"json({"targets": [
    {"id": 1, "name": "api", "spec": "exe:/usr/bin/api", "state": "attached", "error": null,
     "exe": "/usr/bin/api", "go_version": "go1.26.11",
     "processes": [{"pid": 123, "start_time": 9001}, {"pid": 456, "start_time": 9002}], "processes_seen": 3},
    {"id": 2, "name": "worker", "spec": "pid:999", "state": "failed", "error": "no .gopclntab in /usr/bin/worker",
     "exe": "/usr/bin/worker", "go_version": "", "processes": [{"pid": 999, "start_time": 5}], "processes_seen": 1}
  ]})json"));
}

TEST_F(ApiHandlerTest, SizeClasses) {
  // totals: 150 + 3 small objects and 2 large; 150*24 + 3*32768 + 81920 bytes.
  json api = json::parse(R"json({"target": "api", "go_version": "go1.26.11",
    "classes": [
      {"size_class": 3, "object_size": 24, "objects": 150, "bytes": 3600, "refills": 2, "noscan_objects": 50},
      {"size_class": 67, "object_size": 32768, "objects": 3, "bytes": 98304, "refills": 0, "noscan_objects": 3}],
    "large": {"objects": 2, "bytes": 81920}, "tiny": {"objects": 777},
    "totals": {"objects": 155, "bytes": 183824}, "gc_cycles": 0})json");
  json worker = json::parse(R"json({"target": "worker", "go_version": "", "classes": [],
    "large": {"objects": 0, "bytes": 0}, "tiny": {"objects": 0}, "totals": {"objects": 0, "bytes": 0},
    "gc_cycles": 0})json");
  EXPECT_EQ(result("sizeclasses"), (json{{"targets", {api, worker}}}));
  EXPECT_EQ(result("sizeclasses", {{"target", "api"}}), (json{{"targets", {api}}}));
  EXPECT_EQ(result("sizeclasses", {{"target", nullptr}, {"unknown", 1}}), (json{{"targets", {api, worker}}}));
}

TEST_F(ApiHandlerTest, SizeClassesOfAnUnknownTarget) {
  ApiError e = error("sizeclasses", {{"target", "db"}});
  EXPECT_EQ(e.code, ErrorCode::target_not_found);
  EXPECT_EQ(e.message, "no target named \"db\"");
  EXPECT_EQ(e.data, (json{{"targets", {"api", "worker"}}}));
}

TEST_F(ApiHandlerTest, AnUnknownTargetIsQuotedByItsStart) {
  ApiError e = error("sizeclasses", {{"target", std::string(100000, 't')}});
  EXPECT_EQ(e.code, ErrorCode::target_not_found);
  EXPECT_EQ(e.message, "no target named \"" + std::string(64, 't') + "…\"");
}

// Two specs' targets with one name are both answered for that name.
TEST(ApiHandler, SizeClassesOfANameSeveralTargetsShare) {
  model::Snapshot s = synthetic_snapshot();
  s.targets[1].name = "api";
  FakeBackend b(std::make_shared<const model::Snapshot>(s));
  Handler h(b);
  json named = *h.handle(Request{1, "sizeclasses", {{"target", "api"}}}, {}).outcome;
  ASSERT_EQ(named["targets"].size(), 2u) << named;
  EXPECT_EQ(named["targets"][1]["target"], "api");
  EXPECT_EQ(named["targets"][1]["go_version"], "");  // the second target's, not the first's again
}

TEST_F(ApiHandlerTest, SizeClassesWithATargetThatIsNotAName) {
  EXPECT_EQ(error("sizeclasses", {{"target", 1}}).code, ErrorCode::invalid_params);
  EXPECT_EQ(error("sizeclasses", {{"target", {"api"}}}).code, ErrorCode::invalid_params);
}

TEST_F(ApiHandlerTest, UnknownMethodListsTheKnownOnes) {
  ApiError e = error("hotkeys");
  EXPECT_EQ(e.code, ErrorCode::unknown_method);
  EXPECT_EQ(e.message, "unknown method \"hotkeys\"");
  EXPECT_EQ(e.data, (json{{"methods", {"status", "targets", "sizeclasses"}}}));
  // A name as long as a request is quoted by its start only.
  EXPECT_LT(error(std::string(100000, 'm')).message.size(), 100u);
}

TEST_F(ApiHandlerTest, AdminMethodsNeedAnAdminPeer) {
  handler_.add({"detach", true, [](const Request& r) -> Outcome { return json{{"detached", r.params["target"]}}; }});
  EXPECT_EQ(handler_.methods().back(), "detach");
  PeerCred user{.pid = 10, .uid = 1000, .gid = 1000};
  ApiError e = error("detach", {{"target", "api"}}, user);
  EXPECT_EQ(e.code, ErrorCode::permission_denied);
  EXPECT_NE(e.message.find("uid 1000"), std::string::npos) << e.message;

  PeerCred admin{.pid = 10, .uid = 1000, .gid = 1000, .admin = true};
  Reply r = call("detach", {{"target", "api"}}, admin);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.outcome, (json{{"detached", "api"}}));
  // Read-only methods stay open to everyone who can reach the socket.
  EXPECT_TRUE(call("status", {}, user).ok());
}

TEST_F(ApiHandlerTest, AMethodThatThrowsIsAnInternalError) {
  handler_.add({"status", false, [](const Request&) -> Outcome { throw std::runtime_error("boom"); }});
  ApiError e = error("status");
  EXPECT_EQ(e.code, ErrorCode::internal);
  EXPECT_EQ(e.message, "method status failed: boom");
  // Replaced, not added twice.
  EXPECT_EQ(handler_.methods().size(), 3u);
}

TEST(ApiHandler, NoSnapshotYetIsAnInternalError) {
  FakeBackend empty(nullptr);
  Handler h(empty);
  for (std::string m : {"status", "targets", "sizeclasses"}) {
    Reply r = h.handle(Request{"a", m}, PeerCred{});
    ASSERT_FALSE(r.ok()) << m;
    EXPECT_EQ(r.outcome.error().code, ErrorCode::internal);
    EXPECT_EQ(r.id, "a");
  }
}

TEST(ApiHandler, TargetsWhileNothingIsTraced) {
  model::Snapshot s;
  s.daemon.started_unix_ms = 0;  // unknown start: uptime 0, not now-since-1970
  s.taken_unix_ms = 1'700'000'000'000;
  FakeBackend b(std::make_shared<const model::Snapshot>(s));
  Handler h(b);
  EXPECT_EQ(*h.handle(Request{1, "targets"}, {}).outcome, json::parse(R"({"targets":[]})"));
  EXPECT_EQ(*h.handle(Request{1, "sizeclasses"}, {}).outcome, json::parse(R"({"targets":[]})"));
  json status = *h.handle(Request{1, "status"}, {}).outcome;
  EXPECT_EQ(status["daemon"]["uptime_seconds"], 0);
  EXPECT_EQ(status["targets"], json::array());
  EXPECT_EQ(status["drops"], json::object());
}

}  // namespace
}  // namespace hotalloc::api::testing
