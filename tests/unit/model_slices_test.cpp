// SliceModel: kernel entries per (process, call site) folded into sites, their
// identity kept, unchanged entries skipped, bounded records.
#include <gtest/gtest.h>

#include "model/slices.h"

namespace hotalloc::model {
namespace {

ha_slice_site counters(uint64_t growths, uint64_t bytes) {
  ha_slice_site s{};
  s.elem_size = 8;
  s.growths = growths;
  s.alloc_bytes = bytes;
  s.allocs = growths;
  return s;
}

SliceIdentity at(const std::string& site, const std::string& function) {
  return {site, "/src/main.go", function, "int64"};
}

const SliceSite* site_named(const SlicesSnapshot& s, uint32_t target, const std::string& site) {
  for (const auto& v : s.targets.at(target).sites)
    if (v.identity.site == site) return &v;
  return nullptr;
}

TEST(SliceModel, ASiteDroppedByTheBoundComesBackWithItsIdentity) {
  SliceLimits limits;
  limits.sites_per_target = 1;
  SliceModel m(limits);
  SliceIdentity busy = at("main.go:10", "main.busy"), rare = at("main.go:20", "main.rare");
  m.update(1, 7, 0x100, 0, counters(50, 800), &busy);
  m.update(1, 7, 0x200, 0, counters(1, 16), &rare);
  auto s = m.publish();  // main.go:20 has fewest growths: its record goes
  ASSERT_EQ(s->targets.at(1).sites.size(), 1u);
  EXPECT_EQ(site_named(*s, 1, "main.go:20"), nullptr);
  // It grows again; the reader passes no identity for a known kernel entry.
  m.update(1, 7, 0x200, 0, counters(100, 1600), nullptr);
  s = m.publish();
  const SliceSite* back = site_named(*s, 1, "main.go:20");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->identity.function, "main.rare");
  EXPECT_EQ(back->identity.elem_type, "int64");
  EXPECT_EQ(back->growths, 99u) << "what it counted since the last read";
}

TEST(SliceModel, UnchangedEntriesAddNothingAndEvictionsAreCounted) {
  SliceModel m;
  SliceIdentity id = at("main.go:10", "main.f");
  m.update(1, 7, 0x100, 0, counters(5, 80), &id);
  m.update(1, 7, 0x100, 0, counters(5, 80), nullptr);
  m.sites_evicted(3);
  auto s = m.publish();
  const SliceSite* site = site_named(*s, 1, "main.go:10");
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->growths, 5u);
  EXPECT_EQ(s->kernel_evictions, 3u);
}

}  // namespace
}  // namespace hotalloc::model
