// The `slices` method: which targets' sites it lists, and that each site
// says whose it is.
#include <gtest/gtest.h>

#include "api/advice_methods.h"

namespace hotalloc::api::testing {

std::unique_ptr<Backend> fake_backend(model::SnapshotPtr snapshot);  // api_handler_test.cpp

namespace {

using nlohmann::json;

model::SliceSite slice_site(const std::string& site, uint64_t growths) {
  model::SliceSite s;
  s.identity = {site, "/src/" + site, "main.f", "int64"};
  s.elem_size = 8;
  s.growths = growths;
  return s;
}

// Targets "api" (ids 1 and 3, two specs of one binary) and "worker" (2),
// each with slice sites.
model::SnapshotPtr snapshot_with_slices() {
  auto s = std::make_shared<model::Snapshot>();
  for (auto [id, name] : {std::pair<uint32_t, const char*>{1, "api"}, {2, "worker"}, {3, "api"}}) {
    model::TargetView t;
    t.id = id;
    t.name = name;
    s->targets.push_back(std::move(t));
  }
  auto slices = std::make_shared<model::SlicesSnapshot>();
  slices->targets[1].sites = {slice_site("a.go:1", 5)};
  slices->targets[2].sites = {slice_site("w.go:2", 9)};
  slices->targets[3].sites = {slice_site("a.go:3", 1)};
  s->slices = slices;
  return s;
}

json slices(const model::SnapshotPtr& snap, json params) {
  auto backend = fake_backend(snap);
  Handler handler(*backend);
  add_advice_methods(handler, *backend);
  Reply r = handler.handle(Request{1, "slices", std::move(params)}, PeerCred{});
  EXPECT_TRUE(r.ok()) << r.outcome.error().message;
  return r.ok() ? *r.outcome : json();
}

// [target, site] of each site, in order.
std::vector<std::pair<std::string, std::string>> whose(const json& result) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const json& s : result.at("sites")) out.emplace_back(s.at("target"), s.at("site"));
  return out;
}

TEST(AdviceMethods, SlicesOfSeveralTargetsSayWhoseEachSiteIs) {
  json all = slices(snapshot_with_slices(), json::object());
  EXPECT_TRUE(all.at("target").is_null()) << all;
  EXPECT_EQ(whose(all), (std::vector<std::pair<std::string, std::string>>{
                            {"worker", "w.go:2"}, {"api", "a.go:1"}, {"api", "a.go:3"}}));
  EXPECT_EQ(whose(slices(snapshot_with_slices(), {{"limit", 1}})),
            (std::vector<std::pair<std::string, std::string>>{{"worker", "w.go:2"}}));
}

TEST(AdviceMethods, SlicesOfOneNameAreLabelledWithIt) {
  json api = slices(snapshot_with_slices(), {{"target", "api"}});
  EXPECT_EQ(api.at("target"), "api");
  EXPECT_EQ(whose(api), (std::vector<std::pair<std::string, std::string>>{{"api", "a.go:1"}, {"api", "a.go:3"}}));

  // Unnamed, but every target shares one name.
  auto one_name = std::make_shared<model::Snapshot>(*snapshot_with_slices());
  std::erase_if(one_name->targets, [](const model::TargetView& t) { return t.name == "worker"; });
  EXPECT_EQ(slices(one_name, json::object()).at("target"), "api");

  // Nothing traced: no sites, and no name to give.
  json none = slices(std::make_shared<model::Snapshot>(), json::object());
  EXPECT_TRUE(none.at("target").is_null()) << none;
  EXPECT_TRUE(none.at("sites").empty()) << none;
}

}  // namespace
}  // namespace hotalloc::api::testing
