#include <gtest/gtest.h>

#include "target/buildinfo.h"
#include "target/dwarf_layout.h"
#include "target/runtime_layout.h"
#include "target_test_support.h"

namespace hotalloc::target {
namespace {

using testing::all_go_versions;

GoVersion version_of(std::string_view text) { return *GoVersion::parse(text); }

// Every offset shipped for a version equals what that version's compiler
// wrote into DWARF, field widths included.
TEST(Layout, MatchesDwarfOfEveryVersion) {
  for (const auto& version : all_go_versions()) {
    TARGET_BINARY(path, "maps_basic", version, "default");
    auto elf = ElfFile::open(path);
    ASSERT_TRUE(elf);
    auto info = read_buildinfo(*elf);
    ASSERT_TRUE(info);
    auto layout = runtime_layout(info->go);
    ASSERT_TRUE(layout) << layout.error().message;
    auto dwarf = DwarfTypes::load(*elf);
    ASSERT_TRUE(dwarf) << dwarf.error().message;
    auto ok = verify_layout(*layout, info->go, *dwarf, /*require_all=*/true);
    EXPECT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(layout->swiss_maps, info->go.at_least(1, 24)) << version;

    // What attaching chooses: the table, confirmed.
    auto choice = choose_layout(info->go, &*dwarf);
    ASSERT_TRUE(choice) << choice.error().message;
    EXPECT_EQ(choice->source, LayoutSource::table) << version;
    EXPECT_TRUE(choice->dwarf_checked);
    EXPECT_EQ(choice->disagreement, "") << version;
    EXPECT_EQ(choice->layout, *layout) << version;
  }
}

TEST(Layout, ChoiceWithoutDwarf) {
  auto known = choose_layout(version_of("go1.24.4"), nullptr);
  ASSERT_TRUE(known) << known.error().message;
  EXPECT_EQ(known->source, LayoutSource::table);
  EXPECT_FALSE(known->dwarf_checked);
  EXPECT_EQ(known->layout, *runtime_layout(version_of("go1.24.4")));

  auto newer = choose_layout(version_of("go1.31.2"), nullptr);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("Go 1.31.2 is newer than every Go version hotalloc knows"), std::string::npos)
      << newer.error().message;
  EXPECT_NE(newer.error().message.find("no DWARF"), std::string::npos) << newer.error().message;

  auto old = choose_layout(version_of("go1.17.3"), nullptr);
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("Go 1.17.3 is not supported"), std::string::npos) << old.error().message;
}

// For a version without a table, DWARF decides everything, the map model
// included: a Go 1.22 binary's DWARF, claimed to be 1.28, gives 1.22's layout.
TEST(Layout, NewerVersionTakesEverythingFromDwarf) {
  TARGET_BINARY(path, "maps_basic", "1.22", "default");
  auto elf = ElfFile::open(path);
  ASSERT_TRUE(elf);
  auto dwarf = DwarfTypes::load(*elf);
  ASSERT_TRUE(dwarf);
  auto as_newer = choose_layout(version_of("go1.28.0"), &*dwarf);
  ASSERT_TRUE(as_newer) << as_newer.error().message;
  EXPECT_EQ(as_newer->source, LayoutSource::dwarf);
  EXPECT_FALSE(as_newer->layout.swiss_maps);
  EXPECT_EQ(as_newer->layout, *runtime_layout(version_of("go1.22.12")));
}

// ... and is refused, naming what is missing, when DWARF does not describe
// the runtime: this test binary's own DWARF (C++) has no Go types.
TEST(Layout, NewerVersionNeedsEveryFieldInDwarf) {
  auto elf = ElfFile::open("/proc/self/exe");
  ASSERT_TRUE(elf);
  auto dwarf = DwarfTypes::load(*elf);
  HOTALLOC_REQUIRE(dwarf.has_value(), "the unit tests were built without debug information");
  auto r = choose_layout(version_of("go1.28.0"), &*dwarf);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Go 1.28.0 is newer than every Go version hotalloc knows"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("DWARF does not describe runtime.mcache.alloc, runtime.mcache.tinyAllocs"),
            std::string::npos)
      << r.error().message;
}

TEST(Layout, DwarfReaderFollowsNestedMembers) {
  TARGET_BINARY(path, "maps_basic", "1.22", "default");
  auto elf = ElfFile::open(path);
  ASSERT_TRUE(elf);
  auto dwarf = DwarfTypes::load(*elf);
  ASSERT_TRUE(dwarf);
  EXPECT_TRUE(dwarf->has_type("runtime.g"));
  EXPECT_FALSE(dwarf->has_type("runtime.noSuchType"));
  auto hi = dwarf->member("runtime.g", "stack.hi");
  ASSERT_TRUE(hi);
  EXPECT_EQ(hi->offset, 8u);
  EXPECT_EQ(hi->size, 8u);
  // g.sched is a gobuf; its pc follows sp.
  auto sched = dwarf->member("runtime.g", "sched");
  auto sched_pc = dwarf->member("runtime.g", "sched.pc");
  ASSERT_TRUE(sched && sched_pc);
  EXPECT_EQ(sched_pc->offset, sched->offset + 8);
  EXPECT_EQ(dwarf->type_size("runtime.hmap"), 48u);
  EXPECT_FALSE(dwarf->member("runtime.g", "noSuchField"));
  EXPECT_FALSE(dwarf->member("runtime.g", "stack.noSuchField"));

  auto offset = dwarf_member_offset(*elf, "runtime.mspan", "allocCount");
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, std::optional<uint64_t>(96));
  auto absent = dwarf_member_offset(*elf, "runtime.mspan", "noSuchField");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
}

TEST(Layout, WithoutDwarfLoadingFails) {
  TARGET_BINARY(path, "maps_basic", "1.22", "stripped");
  auto elf = ElfFile::open(path);
  ASSERT_TRUE(elf);
  EXPECT_FALSE(elf->has_dwarf());
  auto dwarf = DwarfTypes::load(*elf);
  ASSERT_FALSE(dwarf);
  EXPECT_NE(dwarf.error().message.find("no DWARF"), std::string::npos);
  EXPECT_FALSE(dwarf_member_offset(*elf, "runtime.g", "m"));
}

TEST(Layout, MismatchesAreNamed) {
  TARGET_BINARY(path, "maps_basic", "1.26", "default");
  auto elf = ElfFile::open(path);
  ASSERT_TRUE(elf);
  auto go = read_buildinfo(*elf)->go;
  auto dwarf = DwarfTypes::load(*elf);
  ASSERT_TRUE(dwarf);
  // The 1.25 layout differs from 1.26's in mcache only.
  auto older = runtime_layout(version_of("go1.25.0"));
  ASSERT_TRUE(older);
  auto r = verify_layout(*older, go, *dwarf);
  ASSERT_TRUE(r) << r.error().message;

  auto wrong = *older;
  wrong.mspan_alloc_count = 104;
  wrong.mspan_nelems_size = 8;
  auto bad = verify_layout(wrong, go, *dwarf);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("mspan_alloc_count: runtime.mspan.allocCount is at 96 in DWARF, not 104"),
            std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("runtime.mspan.nelems is 2 bytes wide in DWARF, not 8"), std::string::npos)
      << bad.error().message;
}

TEST(Layout, KnownOffsetsPerVersion) {
  auto l19 = *runtime_layout(version_of("go1.19.8"));
  EXPECT_EQ(l19.mspan_nelems, 56);
  EXPECT_EQ(l19.mspan_nelems_size, 8);
  EXPECT_EQ(l19.mspan_alloc_count, 96);
  EXPECT_EQ(l19.mcache_alloc, 40);
  EXPECT_EQ(l19.hmap_b, 9);
  EXPECT_EQ(l19.swiss_map_used, kNoField);

  auto l21 = *runtime_layout(version_of("go1.21.13"));
  EXPECT_EQ(l21.mspan_alloc_count, 104);
  EXPECT_EQ(l21.mspan_elemsize, 112);

  auto l23 = *runtime_layout(version_of("go1.23.5"));
  EXPECT_EQ(l23.g_goid, 160);
  EXPECT_EQ(l23.mspan_nelems, 50);
  EXPECT_EQ(l23.mspan_nelems_size, 2);

  auto l27 = *runtime_layout(version_of("go1.27.4"));
  EXPECT_TRUE(l27.swiss_maps);
  EXPECT_EQ(l27.mcache_alloc, 48);
  EXPECT_EQ(l27.g_goid, 152);
  EXPECT_EQ(l27.hmap_count, kNoField);
  EXPECT_EQ(l27.maptype_slot_size, 96);
}

TEST(Layout, RefusesUnsupportedVersions) {
  for (std::string_view v : {"go1.18.10", "go1.20.14", "go1.28.0"}) {
    auto l = runtime_layout(version_of(v));
    ASSERT_FALSE(l) << v;
    EXPECT_NE(l.error().message.find("is not supported"), std::string::npos) << l.error().message;
  }
}

}  // namespace
}  // namespace hotalloc::target
