// The pure parts of hotalloc's map support: Space-Saving top-K, key
// decoding, the insert-probe modes, and the map model fed synthetic kernel
// counters and events (series routing, reuse, bounds, windows, timeline).
#include <gtest/gtest.h>

#include "model/map_keys.h"
#include "model/maps.h"
#include "model/topk.h"
#include "tracer/insert_tier.h"

namespace hotalloc::model {
namespace {

TEST(SpaceSaving, KeepsExactCountsWhileThereIsRoom) {
  SpaceSaving s(4);
  s.add(1, 5, "a");
  s.add(2, 3, "b");
  s.add(1, 2, "a");
  auto top = s.top(10);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, 1u);
  EXPECT_EQ(top[0].count, 7u);
  EXPECT_EQ(top[0].error, 0u);
  EXPECT_EQ(top[1].label, "b");
  EXPECT_EQ(s.total(), 10u);
  EXPECT_EQ(s.evictions(), 0u);
}

TEST(SpaceSaving, FindsHeavyHittersInBoundedMemory) {
  SpaceSaving s(16);
  // Key k arrives 1000/k times; keys 1..3 are far above total/16.
  for (int round = 0; round < 1000; round++)
    for (uint64_t k = 1; k <= 200; k++)
      if (round % k == 0) s.add(k, 1, std::to_string(k));
  EXPECT_LE(s.size(), 16u);
  EXPECT_GT(s.evictions(), 0u);
  auto top = s.top(3);
  EXPECT_EQ(top[0].key, 1u);
  EXPECT_EQ(top[1].key, 2u);
  EXPECT_EQ(top[2].key, 3u);
  // Each count overestimates by at most its error.
  EXPECT_GE(top[0].count, 1000u);
  EXPECT_LE(top[0].count - top[0].error, 1000u);
}

TEST(SpaceSaving, DecayDropsWhatFallsToZero) {
  SpaceSaving s(4);
  s.add(1, 100, "a");
  s.add(2, 1, "b");
  s.decay(0.4);
  EXPECT_EQ(s.count(1), 40u);
  EXPECT_EQ(s.count(2), 0u);
  EXPECT_EQ(s.size(), 1u);
}

CapturedKey key_of(ha_key_kind kind, std::vector<uint8_t>& bytes, uint32_t len) {
  return CapturedKey{kind, len, bytes};
}

TEST(MapKeys, DecodesByKindAndGoType) {
  std::vector<uint8_t> s = {'a', '"', '\n', 0xff};
  EXPECT_EQ(decode_key(key_of(HA_KEY_STRING, s, 4), GoKind::string), R"("a\"\n\xff")");
  std::vector<uint8_t> long_str(64, 'x');
  EXPECT_EQ(decode_key(key_of(HA_KEY_STRING, long_str, 100), GoKind::string, 3), "\"xxx…\"");
  std::vector<uint8_t> minus_two = {0xfe, 0xff, 0xff, 0xff};
  EXPECT_EQ(decode_key(key_of(HA_KEY_U32, minus_two, 4), GoKind::int32), "-2");
  EXPECT_EQ(decode_key(key_of(HA_KEY_U32, minus_two, 4), GoKind::uint32), "4294967294");
  std::vector<uint8_t> p = {0x10, 0x20, 0, 0, 0xc0, 0, 0, 0};
  EXPECT_EQ(decode_key(key_of(HA_KEY_PTR, p, 8), GoKind::pointer), "0xc000002010");
  std::vector<uint8_t> point = {1, 0, 0xff, 0xff};
  EXPECT_EQ(decode_key(key_of(HA_KEY_BYTES, point, 4), GoKind::invalid), "0x0100ffff");
}

TEST(MapKeys, MetricLabelsArePrintableAndShort) {
  EXPECT_EQ(metric_key_label("\"abc\tdef\"", 5), "\"abcd");
  EXPECT_EQ(redacted_key_label(0x1234567890abcdefULL), "h:90abcdef");
}

TEST(InsertMode, ParsesOffOnAndDutyCycles) {
  EXPECT_EQ(tracer::parse_insert_mode("off")->text(), "off");
  EXPECT_EQ(tracer::parse_insert_mode("on")->text(), "on");
  auto duty = tracer::parse_insert_mode("200ms/10s");
  ASSERT_TRUE(duty);
  EXPECT_EQ(duty->text(), "200ms/10s");
  EXPECT_TRUE(duty->on_at(10'100));
  EXPECT_FALSE(duty->on_at(10'300));
  EXPECT_EQ(duty->next_change(10'100), 10'200);
  EXPECT_EQ(duty->next_change(10'300), 20'000);
  EXPECT_FALSE(tracer::parse_insert_mode("10s/200ms"));
  EXPECT_FALSE(tracer::parse_insert_mode("sometimes"));
  EXPECT_FALSE(tracer::parse_insert_mode("5/10s"));
}

ha_map_stats stats(uint64_t created, uint64_t grows, uint64_t inserts = 0) {
  ha_map_stats s{};
  s.created_ns = created;
  s.growths[HA_GROWTH_GROW] = grows;
  s.inserts = inserts;
  s.flags = HA_MAP_CREATED;
  return s;
}

MapIdentity at(const std::string& site) {
  MapIdentity id;
  id.site = site;
  id.function = "main.f";
  id.key_type = "string";
  id.key_kind = GoKind::string;
  return id;
}

TEST(MapModel, RoutesDeltasToStickySiteSeries) {
  MapModel m;
  m.update(1, 10, 0xa0, stats(1, 2), nullptr, {}, 1000);
  EXPECT_TRUE(m.status(10, 0xb0, stats(5, 3)).needs_identity);
  MapIdentity id = at("main.go:7");
  m.update(1, 10, 0xb0, stats(5, 3), &id, {}, 1000);
  auto s1 = m.publish(1000);
  // First sight: counted in "other", then the sites get series of their own.
  EXPECT_EQ(s1->targets.at(1).sites.at("other").growths[HA_GROWTH_GROW], 5u);
  m.update(1, 10, 0xb0, stats(5, 4), nullptr, {}, 2000);
  auto s2 = m.publish(2000);
  EXPECT_EQ(s2->targets.at(1).sites.at("main.go:7").growths[HA_GROWTH_GROW], 1u);
  EXPECT_EQ(s2->targets.at(1).sites.at("other").growths[HA_GROWTH_GROW], 5u);
  ASSERT_EQ(s2->targets.at(1).maps.size(), 2u);
  EXPECT_EQ(s2->targets.at(1).maps[0].growths[HA_GROWTH_GROW], 4u);  // most active first
}

TEST(MapModel, AReusedAddressRetiresTheOldMapWithItsLastCounts) {
  MapModel m;
  MapIdentity id = at("main.go:7");
  m.update(1, 10, 0xb0, stats(5, 3), &id, {}, 1000);
  m.publish(1000);
  m.update(1, 10, 0xb0, stats(5, 3), nullptr, {}, 1500);
  m.publish(1500);
  m.retire(1, 10, 0xb0, stats(5, 6), 2000);  // three growths since the last poll
  MapIdentity other = at("main.go:9");
  m.update(1, 10, 0xb0, stats(9, 1), &other, {}, 2000);
  auto s = m.publish(2000);
  const auto& sites = s->targets.at(1).sites;
  uint64_t total = 0;
  for (const auto& [site, t] : sites) total += t.growths[HA_GROWTH_GROW];
  EXPECT_EQ(total, 7u);
  ASSERT_EQ(s->targets.at(1).maps.size(), 1u);
  EXPECT_EQ(s->targets.at(1).maps[0].identity.site, "main.go:9");
}

TEST(MapModel, ForgetsLeastActiveMapsBeyondItsBound) {
  MapLimits limits;
  limits.maps_per_target = 3;
  MapModel m(limits);
  for (uint64_t i = 0; i < 10; i++) m.update(1, 10, 0x1000 + i, stats(i + 1, 1), nullptr, {}, int64_t(1000 + i));
  auto s = m.publish(2000);
  EXPECT_EQ(s->targets.at(1).maps.size(), 3u);
  EXPECT_EQ(s->targets.at(1).maps_parked, 7u);
  EXPECT_EQ(s->targets.at(1).sites.at("other").growths[HA_GROWTH_GROW], 10u);  // nothing lost from the series
}

// The kernel keeps counting maps the model no longer lists: their later
// counts reach their series once, not again from zero at every collection.
TEST(MapModel, ParkedMapsKeepCountingWithoutComingBack) {
  MapLimits limits;
  limits.maps_per_target = 3;
  MapModel m(limits);
  for (int poll = 0; poll < 5; poll++)
    for (uint64_t i = 0; i < 10; i++)
      m.update(1, 10, 0x1000 + i, stats(i + 1, 1 + uint64_t(poll == 4)), nullptr, {}, int64_t(1000 * poll + i));
  auto s = m.publish(9000);
  EXPECT_EQ(s->targets.at(1).maps.size(), 3u);
  EXPECT_EQ(s->targets.at(1).maps_parked, 7u) << "parked once, not at every collection";
  EXPECT_EQ(s->targets.at(1).sites.at("other").growths[HA_GROWTH_GROW], 20u) << "each map grew twice";
  ha_map_stats typed = stats(1, 2);
  typed.maptype = 0x4000;
  EXPECT_FALSE(m.status(10, 0x1000, typed).listed);
  EXPECT_FALSE(m.status(10, 0x1000, typed).needs_identity) << "a parked map's identity is not read again";
  typed.created_ns = 99;
  EXPECT_TRUE(m.status(10, 0x1000, typed).needs_identity) << "a new map at a parked map's address is";
}

TEST(MapModel, ParkedMapsKeysCountInTheirTargetsOther) {
  MapLimits limits;
  limits.maps_per_target = 1;
  MapModel m(limits);
  MapIdentity id = at("main.go:7");
  m.update(2, 10, 0xa0, stats(1, 0, 10), &id, {}, 1000);
  m.update(2, 10, 0xb0, stats(2, 0, 10), &id, {}, 2000);  // parks 0xa0
  ASSERT_FALSE(m.status(10, 0xa0, stats(1, 0, 10)).listed);
  std::vector<uint8_t> a = {'a'};
  EXPECT_TRUE(m.hot_key(10, 0xa0, 1, 6, {HA_KEY_STRING, 1, a}));
  // Never seen: no target to count it in; not taken, so the reader offers it again.
  EXPECT_FALSE(m.hot_key(11, 0xc0, 1, 4, {HA_KEY_STRING, 1, a}));
  auto s = m.publish(2000);
  EXPECT_EQ(s->targets.size(), 1u);
  uint64_t other = 0;
  for (const auto& k : s->targets.at(2).hot_keys)
    if (k.map == "other") other = k.inserts;
  EXPECT_EQ(other, 6u);
}

// Maps that only exist (and, swiss, got their first group) are counted for
// their site without a record; the first collection that sees one do more
// lists it, its counts going on from what its site has.
TEST(MapModel, QuietMapsAreCountedUnlistedUntilTheyDoMore) {
  MapModel m;
  ha_map_stats small{};
  small.created_ns = 1;
  small.flags = HA_MAP_CREATED;
  small.growths[HA_GROWTH_TO_SMALL] = 1;
  small.growth_bytes = 208;
  EXPECT_TRUE(MapModel::quiet(small));
  MapModel::Status st = m.status(10, 0xa0, small);
  EXPECT_FALSE(st.listed) << "no shape read for a quiet map";
  EXPECT_TRUE(st.needs_identity) << "its site, to count it there";
  MapIdentity id = at("main.go:7");
  m.update(1, 10, 0xa0, small, &id, {}, 1000);
  auto s1 = m.publish(1000);
  EXPECT_TRUE(s1->targets.at(1).maps.empty());
  EXPECT_EQ(s1->targets.at(1).maps_quiet, 1u);
  EXPECT_EQ(s1->targets.at(1).sites.at("other").growths[HA_GROWTH_TO_SMALL], 1u);
  EXPECT_FALSE(m.status(10, 0xa0, small).needs_identity) << "known: nothing to resolve while it stays quiet";
  std::vector<uint8_t> k = {'k'};
  EXPECT_FALSE(m.hot_key(10, 0xa0, 1, 3, {HA_KEY_STRING, 1, k})) << "its keys wait for the map's own record";

  ha_map_stats grown = small;
  grown.growths[HA_GROWTH_TO_TABLE] = 1;
  grown.growth_bytes = 208 + 1024;
  EXPECT_FALSE(MapModel::quiet(grown));
  st = m.status(10, 0xa0, grown);
  EXPECT_TRUE(st.listed);
  EXPECT_TRUE(st.needs_identity);
  m.update(1, 10, 0xa0, grown, &id, {}, 2000);
  auto s2 = m.publish(2000);
  ASSERT_EQ(s2->targets.at(1).maps.size(), 1u);
  EXPECT_EQ(s2->targets.at(1).maps[0].identity.site, "main.go:7");
  EXPECT_EQ(s2->targets.at(1).maps[0].growths[HA_GROWTH_TO_TABLE], 1u);
  EXPECT_EQ(s2->targets.at(1).maps_quiet, 0u) << "listed now: no longer counted as quiet";
  EXPECT_TRUE(m.hot_key(10, 0xa0, 1, 3, {HA_KEY_STRING, 1, k}));
  // Its first group is not counted again: the site's totals hold each growth once.
  uint64_t to_small = 0, to_table = 0;
  for (const auto& [site, t] : s2->targets.at(1).sites) {
    to_small += t.growths[HA_GROWTH_TO_SMALL];
    to_table += t.growths[HA_GROWTH_TO_TABLE];
  }
  EXPECT_EQ(to_small, 1u);
  EXPECT_EQ(to_table, 1u);

  // A second first group (cleared and refilled) or an insert is no longer quiet.
  ha_map_stats twice = small;
  twice.growths[HA_GROWTH_TO_SMALL] = 2;
  EXPECT_FALSE(MapModel::quiet(twice));
  ha_map_stats inserted = small;
  inserted.inserts = 1;
  EXPECT_FALSE(MapModel::quiet(inserted));
}

TEST(MapModel, AnUnchangedMapsInsertRateFallsToZero) {
  MapModel m;
  MapIdentity id = at("main.go:7");
  m.update(1, 10, 0xb0, stats(5, 0, 100), &id, {}, 1000);
  // The kernel counts from the map's creation: 100 inserts when first seen
  // at 1 s, 300 at 3 s. The first rate is every insert since creation (the
  // model starts the window at first sight with an insert count of 0, so the
  // 100 made before it are in) over the 2 s since first sight: 300 / 2 s.
  m.update(1, 10, 0xb0, stats(5, 0, 300), &id, {}, 3000);
  EXPECT_DOUBLE_EQ(m.publish(3000)->targets.at(1).maps.at(0).inserts_per_second, 150.0);
  // No more updates: the reader does not hand the model unchanged entries.
  EXPECT_DOUBLE_EQ(m.publish(3500)->targets.at(1).maps.at(0).inserts_per_second, 150.0)
      << "within the second: no new rate yet";
  EXPECT_DOUBLE_EQ(m.publish(4000)->targets.at(1).maps.at(0).inserts_per_second, 0.0);
  EXPECT_EQ(m.publish(4000)->targets.at(1).maps.size(), 1u);
}

TEST(MapModel, AnEvictedMapIsForgottenAndCountedOnce) {
  MapModel m;
  MapIdentity id = at("main.go:7");
  m.update(1, 10, 0xb0, stats(5, 1), &id, {}, 1000);
  m.map_evicted(10, 0xb0);
  auto s = m.publish(1000);
  EXPECT_TRUE(s->targets.at(1).maps.empty());
  EXPECT_EQ(s->kernel_map_evictions, 1u);
  // The kernel counts it anew from zero when it comes back.
  m.update(1, 10, 0xb0, stats(7, 2), &id, {}, 2000);
  s = m.publish(2000);
  EXPECT_EQ(s->kernel_map_evictions, 1u);
  uint64_t grows = 0;
  for (const auto& [site, t] : s->targets.at(1).sites) grows += t.growths[HA_GROWTH_GROW];
  EXPECT_EQ(grows, 3u);
}

TEST(MapModel, HotKeySeriesAreBoundedAndWindowsCountApart) {
  MapLimits limits;
  limits.hot_keys_per_map = 2;
  limits.hot_key_maps = 1;
  MapModel m(limits);
  MapIdentity id = at("main.go:7");
  m.update(1, 10, 0xb0, stats(5, 0, 100), &id, {}, 1000);
  std::vector<uint8_t> a = {'a'}, b = {'b'}, c = {'c'};
  m.hot_key(10, 0xb0, 1, 50, {HA_KEY_STRING, 1, a});
  m.hot_key(10, 0xb0, 2, 30, {HA_KEY_STRING, 1, b});
  m.hot_key(10, 0xb0, 3, 20, {HA_KEY_STRING, 1, c});
  m.publish(1000);  // the site and its two top keys get series
  auto w = m.open_window(1500, 5000);
  m.hot_key(10, 0xb0, 1, 5, {HA_KEY_STRING, 1, a});
  m.hot_key(10, 0xb0, 3, 7, {HA_KEY_STRING, 1, c});
  auto s = m.publish(2000);
  std::map<std::string, uint64_t> series;
  for (const auto& k : s->targets.at(1).hot_keys) series[k.map + "|" + k.key] = k.inserts;
  EXPECT_EQ(series.size(), 4u);  // "a", "b", __other__ of the site, and the target's other
  EXPECT_EQ(series["main.go:7|\"a\""], 5u);
  EXPECT_EQ(series["main.go:7|__other__"], 7u);
  EXPECT_EQ(series["other|__other__"], 100u);
  const auto& base = s->baselines->at(w.id);
  EXPECT_EQ(base.at({10, 0xb0, 1}), 50u);
  EXPECT_EQ(s->targets.at(1).maps[0].top_keys[0].count, 55u);
}

TEST(MapModel, TimelineNamesTheMapAndStaysBounded) {
  MapLimits limits;
  limits.timeline_events = 3;
  MapModel m(limits);
  MapIdentity id = at("main.go:7");
  m.update(1, 10, 0xb0, stats(5, 1), &id, {}, 1000);
  for (int i = 0; i < 5; i++) {
    TimelineEvent e;
    e.kind = "growth_start";
    e.target = 1;
    e.pid = 10;
    m.event(e, 0xb0);
  }
  auto s = m.publish(1000);
  ASSERT_EQ(s->timeline->size(), 3u);
  EXPECT_EQ(s->timeline->front().seq, 3u);
  EXPECT_EQ(s->timeline->back().site, "main.go:7");
  EXPECT_EQ(s->next_seq, 6u);
}

TEST(MapModel, RefillBurstsStandOutOfTheUsualRate) {
  MapModel m;
  m.refills(1, 0, 1000);
  m.refills(1, 2000, 2000);   // 2000/s: the first rate is the usual one
  m.refills(1, 4000, 3000);
  m.refills(1, 40000, 4000);  // 36000/s
  auto s = m.publish(4000);
  ASSERT_EQ(s->timeline->size(), 1u);
  EXPECT_EQ(s->timeline->back().kind, "refill_burst");
  EXPECT_EQ(s->timeline->back().count, 36000u);
}

}  // namespace
}  // namespace hotalloc::model
