// The advice engine on synthetic histories, and the slice model that feeds
// it: each kind is given when its thresholds are met and not when one falls
// short, with the evidence and saving taken from the measured figures.
#include <gtest/gtest.h>

#include "model/advice.h"
#include "model/slices.h"

namespace hotalloc::model {
namespace {

uint64_t figure(const std::vector<std::pair<std::string, uint64_t>>& v, const std::string& name) {
  for (const auto& [k, n] : v)
    if (k == name) return n;
  ADD_FAILURE() << "no figure " << name;
  return 0;
}

MapView grown_map(const std::string& site, uint64_t len, uint64_t growths, uint64_t bytes) {
  MapView m;
  m.identity.site = site;
  m.identity.function = "main.build";
  m.identity.key_type = "int64";
  m.identity.elem_type = "string";
  m.shape.known = true;
  m.shape.len = len;
  m.growths[HA_GROWTH_GROW] = growths;
  m.growth_bytes = bytes;
  m.evacuated_buckets = 3 * growths;
  return m;
}

TEST(Advice, PresizesAMapThatGrewToItsLength) {
  TargetMaps tm;
  tm.maps.push_back(grown_map("main.go:10", 100000, 14, 5 << 20));
  auto advice = advise(&tm, nullptr);
  ASSERT_EQ(advice.size(), 1u);
  const Advice& a = advice[0];
  EXPECT_EQ(a.kind, "presize_map");
  EXPECT_EQ(a.site, "main.go:10");
  EXPECT_EQ(a.function, "main.build");
  EXPECT_EQ(a.suggestion, "presize with make(map[int64]string, 100000)");
  EXPECT_EQ(figure(a.evidence, "growths"), 14u);
  EXPECT_EQ(figure(a.evidence, "len"), 100000u);
  EXPECT_EQ(figure(a.saving, "bytes"), uint64_t(5 << 20));
  EXPECT_EQ(figure(a.saving, "evacuated_buckets"), 42u);
}

TEST(Advice, NothingForAMapThatDidNotGrowOrStayedSmall) {
  TargetMaps tm;
  tm.maps.push_back(grown_map("main.go:10", 100000, 0, 0));  // presized
  tm.maps.push_back(grown_map("main.go:20", 40, 5, 4096));    // under min_map_len
  tm.maps.push_back(grown_map("main.go:30", 5000, 3, 4096));  // under min_map_growths
  EXPECT_TRUE(advise(&tm, nullptr).empty());
}

TEST(Advice, ReuseForAMapRemadeInALoop) {
  TargetMaps tm;
  for (int i = 0; i < 10; i++) tm.maps.push_back(grown_map("main.go:50", 1000 + i, 7, 1000));
  auto advice = advise(&tm, nullptr);
  ASSERT_EQ(advice.size(), 1u);
  EXPECT_EQ(advice[0].kind, "reuse_map");
  EXPECT_EQ(figure(advice[0].evidence, "maps"), 10u);
  EXPECT_EQ(figure(advice[0].evidence, "growths"), 70u);
  // The one reused map still grows as the largest did.
  EXPECT_EQ(figure(advice[0].saving, "growths"), 63u);
  EXPECT_EQ(figure(advice[0].saving, "bytes"), 9000u);
  AdviceThresholds t;
  t.min_reuse_maps = 11;
  auto fewer = advise(&tm, nullptr, t);
  ASSERT_EQ(fewer.size(), 1u);
  EXPECT_EQ(fewer[0].kind, "presize_map");
}

MapView hot_map(uint64_t inserts, std::vector<std::pair<std::string, uint64_t>> keys) {
  MapView m;
  m.identity.site = "main.go:70";
  m.inserts = inserts;
  m.key_inserts = inserts;
  m.inserts_per_second = 5000;
  uint64_t k = 1;
  for (auto& [label, n] : keys) m.top_keys.push_back({k++, label, n, 0});
  return m;
}

TEST(Advice, HotKeysWithTheirShares) {
  TargetMaps tm;
  tm.maps.push_back(hot_map(10000, {{"\"a\"", 4000}, {"\"b\"", 1000}, {"\"c\"", 100}}));
  auto advice = advise(&tm, nullptr);
  ASSERT_EQ(advice.size(), 1u);
  const Advice& a = advice[0];
  EXPECT_EQ(a.kind, "hot_keys");
  ASSERT_EQ(a.keys.size(), 2u);  // "c" holds 1%, under min_key_share
  EXPECT_EQ(a.keys[0].key, "\"a\"");
  EXPECT_DOUBLE_EQ(a.keys[0].share, 0.4);
  EXPECT_EQ(figure(a.evidence, "inserts_on_keys"), 5000u);
}

TEST(Advice, NoHotKeysWhenInsertsSpreadOrAreFew) {
  TargetMaps spread;
  spread.maps.push_back(hot_map(10000, {{"a", 900}, {"b", 800}, {"c", 700}}));  // 24% on the top keys
  EXPECT_TRUE(advise(&spread, nullptr).empty());
  TargetMaps few;
  few.maps.push_back(hot_map(500, {{"a", 400}}));
  EXPECT_TRUE(advise(&few, nullptr).empty());
  TargetMaps slow = few;
  slow.maps[0] = hot_map(10000, {{"a", 9000}});
  slow.maps[0].inserts_per_second = 10;
  EXPECT_TRUE(advise(&slow, nullptr).empty());
}

SliceSite grown_slice(uint64_t growths, uint64_t from_empty, uint64_t max_cap) {
  SliceSite s;
  s.identity = {"main.go:90", "/src/main.go", "main.collect", "int64"};
  s.elem_size = 8;
  s.growths = growths;
  s.from_empty = from_empty;
  s.max_new_len = max_cap / 2 + 1;
  s.max_new_cap = max_cap;
  s.copied_bytes = 1000;
  s.alloc_bytes = 3 * max_cap * 8 * std::max<uint64_t>(from_empty, 1);
  return s;
}

TEST(Advice, PresizesASliceAppendGrewRepeatedly) {
  TargetSlices ts;
  ts.sites.push_back(grown_slice(28, 1, 110592));
  auto advice = advise(nullptr, &ts);
  ASSERT_EQ(advice.size(), 1u);
  const Advice& a = advice[0];
  EXPECT_EQ(a.kind, "presize_slice");
  EXPECT_EQ(a.site, "main.go:90");
  EXPECT_EQ(a.suggestion, "allocate with make([]int64, 0, 110592)");
  EXPECT_EQ(figure(a.evidence, "growths"), 28u);
  EXPECT_EQ(figure(a.saving, "growths"), 28u);
  EXPECT_EQ(figure(a.saving, "copied_bytes"), 1000u);
  // Three arrays' worth allocated, one still needed.
  EXPECT_EQ(figure(a.saving, "alloc_bytes"), 2u * 110592 * 8);
}

TEST(Advice, NothingForSlicesThatGrewLittle) {
  TargetSlices ts;
  ts.sites.push_back(grown_slice(30, 10, 4096));  // 3 growths per slice built
  ts.sites.push_back(grown_slice(9, 1, 32));      // small
  EXPECT_TRUE(advise(nullptr, &ts).empty());
}

TEST(Advice, RankedByBytesSaved) {
  TargetMaps tm;
  tm.maps.push_back(grown_map("main.go:10", 1000, 6, 100));
  tm.maps.push_back(grown_map("main.go:11", 1000, 6, 1'000'000));
  TargetSlices ts;
  ts.sites.push_back(grown_slice(20, 1, 1024));
  auto advice = advise(&tm, &ts);
  ASSERT_EQ(advice.size(), 3u);
  EXPECT_EQ(advice[0].site, "main.go:11");
  EXPECT_EQ(advice[1].kind, "presize_slice");
  EXPECT_EQ(advice[2].site, "main.go:10");
}

ha_slice_site counters(uint64_t growths, uint64_t bytes) {
  ha_slice_site s{};
  s.growths = growths;
  s.from_empty = 1;
  s.alloc_bytes = bytes;
  s.allocs = growths;
  s.elem_size = 8;
  s.max_new_cap = bytes / 8;
  return s;
}

TEST(SliceModel, SumsEntriesOfOneSiteAndKeepsExitedProcesses) {
  SliceModel m;
  SliceIdentity id{"main.go:5", "/x/main.go", "main.f", "int64"};
  m.update(1, 100, 0x1000, 0x2000, counters(3, 800), &id);
  m.update(1, 100, 0x1000, 0x3000, counters(2, 400), &id);  // same site, another caller
  m.update(1, 100, 0x1000, 0x2000, counters(5, 1600), nullptr);
  m.process_exited(100);
  m.update(1, 101, 0x1000, 0x2000, counters(1, 64), &id);  // a new process starts from zero
  auto snap = m.publish();
  const TargetSlices& t = snap->targets.at(1);
  ASSERT_EQ(t.sites.size(), 1u);
  EXPECT_EQ(t.sites[0].growths, 8u);
  EXPECT_EQ(t.sites[0].alloc_bytes, 2064u);
  EXPECT_EQ(t.sites[0].from_empty, 3u);
  EXPECT_EQ(t.sites[0].identity.function, "main.f");
}

TEST(SliceModel, SeriesAreBoundedAndMonotonic) {
  SliceModel m({.sites_per_target = 1000, .site_series = 2});
  for (uint64_t i = 0; i < 4; i++) {
    SliceIdentity id{"main.go:" + std::to_string(i), "", "main.f", "int64"};
    m.update(1, 100, 0x1000 + i, 0, counters(10 * (i + 1), 80), &id);
  }
  auto first = m.publish();
  // The two busiest get series, from their first counts on.
  const auto& series = first->targets.at(1).series;
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series.at("main.go:3").growths, 40u);
  EXPECT_EQ(series.at("main.go:2").growths, 30u);
  EXPECT_EQ(series.at("other").growths, 30u);
  m.update(1, 100, 0x1003, 0, counters(45, 160), nullptr);
  m.update(1, 100, 0x1000, 0, counters(15, 160), nullptr);
  auto second = m.publish();
  EXPECT_EQ(second->targets.at(1).series.at("main.go:3").growths, 45u);
  EXPECT_EQ(second->targets.at(1).series.at("main.go:3").bytes, 160u);
  EXPECT_EQ(second->targets.at(1).series.at("other").growths, 35u);
  EXPECT_EQ(second->targets.at(1).series.size(), 3u);
}

}  // namespace
}  // namespace hotalloc::model
