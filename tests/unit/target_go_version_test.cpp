#include <gtest/gtest.h>

#include "target/go_version.h"

namespace hotalloc::target {
namespace {

GoVersion v(std::string_view text) {
  auto parsed = GoVersion::parse(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : GoVersion{};
}

TEST(GoVersion, ParsesReleases) {
  auto r = v("go1.26.11");
  EXPECT_EQ(r.major, 1);
  EXPECT_EQ(r.minor, 26);
  EXPECT_EQ(r.patch, 11);
  EXPECT_EQ(r.text, "go1.26.11");
  EXPECT_EQ(r.name(), "1.26.11");

  auto first = v("go1.21.0");
  EXPECT_EQ(first.minor, 21);
  EXPECT_EQ(first.patch, 0);
}

TEST(GoVersion, ParsesPreReleasesAndDevelopmentBuilds) {
  auto rc = v("go1.22rc1");
  EXPECT_EQ(rc.minor, 22);
  EXPECT_EQ(rc.patch, 0);
  EXPECT_EQ(rc.name(), "1.22rc1");

  auto devel = v("devel go1.27-abc123 Tue Jan 2 15:04:05 2026 +0000");
  EXPECT_EQ(devel.major, 1);
  EXPECT_EQ(devel.minor, 27);
  EXPECT_EQ(devel.name(), "devel 1.27-abc123");

  // Experiments follow the version after a space.
  auto exp = v("go1.25.1 X:nodwarf5");
  EXPECT_EQ(exp.patch, 1);
  EXPECT_EQ(exp.name(), "1.25.1");

  EXPECT_EQ(v("go1").minor, 0);
}

TEST(GoVersion, RejectsGarbage) {
  for (std::string_view bad : {"", "go", "1.26.1", "gox", "go1.", "go1.x", "go1.26.", "go-1.2", "go1.26.1.2",
                               "go99999999999999999999", "devel", "go1.26_1"}) {
    auto parsed = GoVersion::parse(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find("unrecognised Go version"), std::string::npos);
    }
  }
}

TEST(GoVersion, OrdersByNumber) {
  EXPECT_LT(v("go1.19.8"), v("go1.21.0"));
  EXPECT_LT(v("go1.21.9"), v("go1.21.10"));
  EXPECT_GT(v("go2.0"), v("go1.99.9"));
  EXPECT_EQ(v("go1.22rc1"), v("go1.22.0"));
  EXPECT_TRUE(v("go1.24.4").at_least(1, 24));
  EXPECT_FALSE(v("go1.23.9").at_least(1, 24));
  EXPECT_TRUE(v("go1.26.11").series(1, 26));
}

TEST(GoVersion, SupportsVerifiedSeriesOnly) {
  for (std::string_view ok : {"go1.19.8", "go1.21.0", "go1.22.12", "go1.23.5", "go1.24.4", "go1.25.12", "go1.26.11",
                              "go1.27.4", "go1.27rc2"}) {
    EXPECT_EQ(go_support(v(ok)), GoSupport::supported) << ok;
    EXPECT_TRUE(check_go_supported(v(ok))) << ok;
  }
  EXPECT_EQ(go_support(v("go1.18.10")), GoSupport::too_old);
  EXPECT_EQ(go_support(v("go1.20.14")), GoSupport::unverified);
  EXPECT_EQ(go_support(v("go1.28.0")), GoSupport::too_new);
  EXPECT_EQ(go_support(v("go2.0.0")), GoSupport::too_new);
}

TEST(GoVersion, RefusalsNameTheVersionAndTheReason) {
  auto old = check_go_supported(v("go1.18.10"));
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().message, "Go 1.18.10 is not supported (supported: 1.19, 1.21–1.27)");

  auto unverified = check_go_supported(v("go1.20.3"));
  ASSERT_FALSE(unverified);
  EXPECT_NE(unverified.error().message.find("Go 1.20.3"), std::string::npos);
  EXPECT_NE(unverified.error().message.find("not been verified"), std::string::npos);

  auto newer = check_go_supported(v("go1.28.1"));
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("Go 1.28.1"), std::string::npos);
  EXPECT_NE(newer.error().message.find("runtime layout is unknown"), std::string::npos);
  EXPECT_NE(newer.error().message.find("1.19, 1.21–1.27"), std::string::npos);
}

}  // namespace
}  // namespace hotalloc::target
