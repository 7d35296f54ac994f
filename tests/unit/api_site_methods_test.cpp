// The `sites` and `pprof` methods on the handler: parameters, refusals, and
// what a target that samples nothing answers.
#include <gtest/gtest.h>

#include "api/site_methods.h"

namespace hotalloc::api::testing {

std::unique_ptr<Backend> fake_backend(model::SnapshotPtr snapshot);  // api_handler_test.cpp

namespace {

using nlohmann::json;

model::SnapshotPtr snapshot_with_unsampled_target() {
  auto s = std::make_shared<model::Snapshot>();
  model::TargetView t;
  t.id = 1;
  t.name = "quiet";
  t.state = model::TargetState::attached;
  auto heap = std::make_shared<heapprof::ProcessHeap>();
  heap->pid = 31;
  heap->linked = false;
  heap->reader_function = "runtime.memProfileInternal";
  t.heap.push_back(heap);
  s->targets.push_back(std::move(t));
  return s;
}

class SiteMethodsTest : public ::testing::Test {
 protected:
  SiteMethodsTest() : backend_(fake_backend(snapshot_with_unsampled_target())), handler_(*backend_) {
    add_heap_methods(handler_, *backend_);
  }
  Reply call(const std::string& method, json params, bool admin = true) {
    PeerCred peer;
    peer.uid = admin ? 0 : 1000;
    peer.admin = admin;
    Answer a = handler_.answer(Request{3, method, std::move(params)}, peer, {});
    EXPECT_TRUE(std::holds_alternative<Reply>(a)) << method << " streamed where one reply was expected";
    return std::holds_alternative<Reply>(a) ? std::move(std::get<Reply>(a)) : Reply{};
  }

  std::unique_ptr<Backend> backend_;
  Handler handler_;
};

TEST_F(SiteMethodsTest, SitesSaysWhyThereAreNone) {
  Reply r = call("sites", json::object());
  ASSERT_TRUE(r.ok()) << r.outcome.error().message;
  const json& t = r.outcome->at("targets").at(0);
  EXPECT_EQ(t.at("target"), "quiet");
  EXPECT_EQ(t.at("order"), "alloc_space");
  EXPECT_EQ(t.at("profile").at("rate"), 0);
  EXPECT_EQ(t.at("profile").at("sampling"), false);
  EXPECT_TRUE(t.at("sites").empty());
  EXPECT_NE(t.at("profile").at("message").get<std::string>().find("runtime.memProfileInternal"), std::string::npos);
  EXPECT_EQ(call("sites", {{"live", true}}).outcome->at("targets").at(0).at("order"), "inuse_space");
}

TEST_F(SiteMethodsTest, SitesChecksItsParams) {
  EXPECT_EQ(call("sites", {{"limit", -1}}).outcome.error().code, ErrorCode::invalid_params);
  EXPECT_EQ(call("sites", {{"limit", "ten"}}).outcome.error().code, ErrorCode::invalid_params);
  EXPECT_EQ(call("sites", {{"live", "yes"}}).outcome.error().code, ErrorCode::invalid_params);
  EXPECT_EQ(call("sites", {{"target", 7}}).outcome.error().code, ErrorCode::invalid_params);
  // 0 asks for every site; null for the default.
  EXPECT_TRUE(call("sites", {{"limit", 0}}).ok());
  EXPECT_TRUE(call("sites", {{"limit", nullptr}}).ok());
  EXPECT_TRUE(call("sites", {{"limit", 100000}}).ok());
  Reply missing = call("sites", {{"target", "nope"}});
  EXPECT_EQ(missing.outcome.error().code, ErrorCode::target_not_found);
  EXPECT_EQ(missing.outcome.error().data.at("targets"), json::array({"quiet"}));
}

TEST_F(SiteMethodsTest, PprofRefusesRatherThanSendAnEmptyProfile) {
  Reply r = call("pprof", json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.outcome.error().code, ErrorCode::not_attached);
  EXPECT_NE(r.outcome.error().message.find("heap profiling is off"), std::string::npos) << r.outcome.error().message;
  EXPECT_EQ(r.outcome.error().data.at("rate"), 0);
  EXPECT_EQ(call("pprof", {{"target", "nope"}}).outcome.error().code, ErrorCode::target_not_found);
  EXPECT_EQ(call("pprof", json::object(), /*admin=*/false).outcome.error().code, ErrorCode::permission_denied);
}

// Unnamed, pprof wants exactly one target: none, or two specs' targets that
// share a name, ask for "target"; named, the shared name covers both.
TEST(SiteMethods, PprofWantsATargetUnlessExactlyOneIsTraced) {
  auto call = [](const model::SnapshotPtr& snap, const std::string& method, json params) {
    auto backend = fake_backend(snap);
    Handler handler(*backend);
    add_heap_methods(handler, *backend);
    PeerCred peer;
    peer.uid = 0;
    peer.admin = true;
    Answer a = handler.answer(Request{3, method, std::move(params)}, peer, {});
    EXPECT_TRUE(std::holds_alternative<Reply>(a)) << method << " streamed where one reply was expected";
    return std::holds_alternative<Reply>(a) ? std::move(std::get<Reply>(a)) : Reply{};
  };
  auto none = std::make_shared<model::Snapshot>();
  Reply nothing = call(none, "pprof", json::object());
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.outcome.error().code, ErrorCode::invalid_params);
  EXPECT_EQ(nothing.outcome.error().message, "the daemon traces no targets");
  EXPECT_EQ(call(none, "pprof", {{"target", "quiet"}}).outcome.error().code, ErrorCode::target_not_found);

  auto twice = std::make_shared<model::Snapshot>(*snapshot_with_unsampled_target());
  twice->targets.push_back(twice->targets.front());
  twice->targets.back().id = 2;
  Reply unnamed = call(twice, "pprof", json::object());
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.outcome.error().code, ErrorCode::invalid_params);
  EXPECT_EQ(unnamed.outcome.error().data.at("targets"), json::array({"quiet", "quiet"}));
  EXPECT_EQ(unnamed.outcome.error().message, "\"target\" is required when the daemon traces several targets");
  EXPECT_EQ(call(twice, "pprof", {{"target", "quiet"}}).outcome.error().code, ErrorCode::not_attached);
  Reply sites = call(twice, "sites", {{"target", "quiet"}});
  ASSERT_TRUE(sites.ok()) << sites.outcome.error().message;
  EXPECT_EQ(sites.outcome->at("targets").size(), 2u);
}

}  // namespace
}  // namespace hotalloc::api::testing
