// The map methods against a model fed synthetic kernel counters: result
// shapes, target selection, windows, the events cursor, and the admin rule.
#include <gtest/gtest.h>

#include "api/map_methods.h"
#include "model/maps.h"

namespace hotalloc::api {
namespace {

using nlohmann::json;

class Fixture : public Backend, public MapInsertControl {
 public:
  Fixture() {
    model::TargetView t;
    t.id = 1;
    t.name = "api";
    snap_.targets = {t};
    snap_.taken_unix_ms = 10'000;
    snap_.daemon.started_unix_ms = 5'000;
    model::MapIdentity id{"main.go:7", "x/main.go", "main.f", "string", "int", model::GoKind::string};
    ha_map_stats st{};
    st.created_ns = 1;
    st.flags = HA_MAP_CREATED | HA_MAP_CHECKED;
    st.growths[HA_GROWTH_GROW] = 3;
    st.inserts = 10;
    maps_.update(1, 42, 0xc000, st, &id, {true, false, 10, 2}, 9000);
    std::vector<uint8_t> a = {'a'}, b = {'b'};
    maps_.hot_key(42, 0xc000, 1, 7, {HA_KEY_STRING, 1, a});
    maps_.hot_key(42, 0xc000, 2, 3, {HA_KEY_STRING, 1, b});
    model::TimelineEvent e;
    e.kind = "growth_end";
    e.target = 1;
    e.pid = 42;
    e.growth_kind = "grow";
    e.migrated = 4;
    e.duration_us = 12;
    for (int i = 0; i < 3; i++) maps_.event(e, 0xc000);
    publish();
    add_map_methods(handler_, *this, *this);
  }
  void publish() { snap_.maps = maps_.publish(10'000); }
  model::SnapshotPtr snapshot(std::chrono::milliseconds) override {
    return std::make_shared<model::Snapshot>(snap_);
  }
  Result<json> set_map_inserts(const std::optional<std::string>& mode, int64_t for_ms) override {
    auto w = maps_.open_window(10'000, for_ms);
    publish();
    return json{{"mode", mode.value_or("off")}, {"on", for_ms > 0}, {"window", {{"id", w.id}}}};
  }
  Reply call(const std::string& method, json params, bool admin = false) {
    Request r{1, method, std::move(params)};
    return handler_.handle(r, PeerCred{1, admin ? 0u : 1000u, 0, admin});
  }

  model::Snapshot snap_;
  model::MapModel maps_;
  Handler handler_{*this};
};

TEST(MapMethods, MapsListsIdentityShapeAndCounts) {
  Fixture f;
  auto r = f.call("maps", json::object());
  ASSERT_TRUE(r.ok());
  const json& res = *r.outcome;
  EXPECT_EQ(res["target"], "api");
  ASSERT_EQ(res["maps"].size(), 1u);
  const json& m = res["maps"][0];
  EXPECT_EQ(m["site"], "main.go:7");
  EXPECT_EQ(m["function"], "main.f");
  EXPECT_EQ(m["key_type"], "string");
  EXPECT_EQ(m["on_stack"], false);
  EXPECT_EQ(m["len"], 10);
  EXPECT_EQ(m["shape"]["B"], 2);
  EXPECT_EQ(m["growths"], json({{"grow", 3}}));
  EXPECT_EQ(m["inserts"], 10);
  EXPECT_EQ(res["unlisted"], json({{"quiet", 0}, {"parked", 0}}));
  // A map that only exists is counted as unlisted, not listed.
  ha_map_stats quiet{};
  quiet.created_ns = 2;
  quiet.flags = HA_MAP_CREATED;
  model::MapIdentity site{"main.go:9"};
  f.maps_.update(1, 42, 0xd000, quiet, &site, {}, 9500);
  f.publish();
  auto again = f.call("maps", json::object());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again.outcome)["maps"].size(), 1u);
  EXPECT_EQ((*again.outcome)["unlisted"], json({{"quiet", 1}, {"parked", 0}}));
  auto missing = f.call("maps", {{"target", "nope"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.outcome.error().code, ErrorCode::target_not_found);
}

TEST(MapMethods, HotkeysReportsTopKeysAndWindows) {
  Fixture f;
  auto r = f.call("hotkeys", {{"limit", 1}});
  ASSERT_TRUE(r.ok());
  const json& m = (*r.outcome)["maps"][0];
  ASSERT_EQ(m["keys"].size(), 1u);
  EXPECT_EQ(m["keys"][0]["key"], "\"a\"");
  EXPECT_EQ(m["keys"][0]["count"], 7);
  EXPECT_DOUBLE_EQ(m["keys"][0]["share"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ((*r.outcome)["window_seconds"].get<double>(), 5.0);

  EXPECT_FALSE(f.call("map_inserts", {{"for_seconds", 5}}).ok());  // admin only
  auto on = f.call("map_inserts", {{"for_seconds", 5}}, true);
  ASSERT_TRUE(on.ok());
  uint64_t window = (*on.outcome)["window"]["id"];
  std::vector<uint8_t> b = {'b'};
  f.maps_.hot_key(42, 0xc000, 2, 4, {HA_KEY_STRING, 1, b});
  f.publish();
  auto w = f.call("hotkeys", {{"window", window}});
  ASSERT_TRUE(w.ok());
  const json& keys = (*w.outcome)["maps"][0]["keys"];
  ASSERT_EQ(keys.size(), 1u);  // "a" had no inserts in the window
  EXPECT_EQ(keys[0]["key"], "\"b\"");
  EXPECT_EQ(keys[0]["count"], 4);
  EXPECT_FALSE(f.call("hotkeys", {{"window", 99}}).ok());
}

TEST(MapMethods, EventsContinueFromTheirCursor) {
  Fixture f;
  auto r = f.call("events", {{"limit", 2}});
  ASSERT_TRUE(r.ok());
  const json& ev = (*r.outcome)["events"];
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["seq"], 2);
  EXPECT_EQ(ev[1]["site"], "main.go:7");
  EXPECT_EQ(ev[1]["duration_us"], 12);
  EXPECT_EQ((*r.outcome)["next"], 3);
  auto after = f.call("events", {{"since", 3}});
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE((*after.outcome)["events"].empty());
  EXPECT_EQ((*after.outcome)["next"], 3);
  EXPECT_FALSE(f.call("events", {{"since", "x"}}).ok());
}

}  // namespace
}  // namespace hotalloc::api
