// Where a PIE process mapped its executable, from /proc/PID/maps text, and
// base64 for the pprof chunks.
#include <gtest/gtest.h>

#include "heapprof/load_bias.h"
#include "target_test_support.h"
#include "util/base64.h"

namespace hotalloc::heapprof {
namespace {

TEST(LoadBias, FromTheExecutablesMappingAtOffsetZero) {
  TARGET_BINARY(pie, "heapsites", "1.26", "pie");
  auto elf = target::ElfFile::open(pie);
  ASSERT_TRUE(elf) << elf.error().message;
  ASSERT_TRUE(elf->pie());
  uint64_t first = 0;
  for (const auto& s : elf->segments())
    if (s.offset == 0) first = s.vaddr;
  std::string maps =
      "55d0c0a00000-55d0c0b00000 r--p 00000000 fd:01 99 /other/binary\n"
      "55d0c0d00000-55d0c0e00000 r-xp 00100000 fd:01 1234 /srv/heapsites\n"
      "55d0c0c00000-55d0c0d00000 r--p 00000000 fd:01 1234 /srv/heapsites\n"
      "7ffd0000-7ffe0000 rw-p 00000000 00:00 0 [stack]\n";
  auto bias = load_bias_from_maps(maps, *elf, 1234);
  ASSERT_TRUE(bias) << bias.error().message;
  EXPECT_EQ(*bias, 0x55d0c0c00000 - (first & ~uint64_t{0xfff}));
  EXPECT_FALSE(load_bias_from_maps(maps, *elf, 4321));

  TARGET_BINARY(plain, "heapsites", "1.26", "default");
  auto fixed = target::ElfFile::open(plain);
  ASSERT_TRUE(fixed);
  auto none = load_bias("/nonexistent", 1, *fixed, 1234);  // not PIE: no maps needed
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

TEST(Base64, RoundTripsAndRefusesGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", {"\0\xff\x80", 3}})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm8"));       // not a multiple of 4
  EXPECT_FALSE(base64_decode("Z=m8"));      // padding inside
  EXPECT_FALSE(base64_decode("Zm8=Zm8="));  // padding before the end
  EXPECT_FALSE(base64_decode("Zm*="));
}

}  // namespace
}  // namespace hotalloc::heapprof
