// Return-instruction sites, where probes read a function's result without
// a uretprobe, and call sites, where they read what a function passes on.
#include <gtest/gtest.h>

#include "probes/placement.h"

namespace hotalloc::probes {
namespace {

TEST(ReturnSites, FindsEveryRetOfAnAmd64Function) {
  const std::vector<uint8_t> code = {
      0x49, 0x3b, 0x66, 0x10,        // cmp rsp, [r14+0x10]
      0x76, 0x08,                    // jbe +8
      0x55,                          // push rbp
      0xc3,                          // ret
      0xe8, 0x00, 0x00, 0x00, 0x00,  // call
      0xc3,                          // ret
      0xcc, 0xcc,                    // padding
  };
  auto sites = return_sites(CpuArch::x86_64, code, 0x401000);
  ASSERT_TRUE(sites) << sites.error().message;
  ASSERT_EQ(sites->size(), 2u);
  EXPECT_EQ((*sites)[0].offset, 7u);
  EXPECT_EQ((*sites)[1].offset, 13u);
  EXPECT_EQ((*sites)[0].placement, Placement::ret);
  EXPECT_FALSE((*sites)[0].emulated);  // single-stepped: ~10 µs a hit
  EXPECT_EQ((*sites)[0].instruction, "ret");
  EXPECT_STREQ(to_string(Placement::ret), "return");
}

TEST(ReturnSites, FindsArm64Rets) {
  const std::vector<uint8_t> code = {
      0xfd, 0x7b, 0xbf, 0xa9,  // stp x29, x30, [sp, #-16]!
      0xc0, 0x03, 0x5f, 0xd6,  // ret
  };
  auto sites = return_sites(CpuArch::arm64, code, 0x10000);
  ASSERT_TRUE(sites) << sites.error().message;
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_EQ((*sites)[0].offset, 4u);
  EXPECT_TRUE((*sites)[0].emulated);
}

TEST(ReturnSites, FailsWithoutAReturn) {
  const std::vector<uint8_t> code = {0x55, 0xe9, 0x00, 0x00, 0x00, 0x00};  // push rbp; jmp
  EXPECT_FALSE(return_sites(CpuArch::x86_64, code, 0x401000));
  EXPECT_FALSE(return_sites(CpuArch::x86_64, {}, 0x401000));
}

TEST(CallSites, FindsTheDirectCallsOfOneCallee) {
  const std::vector<uint8_t> code = {
      0x55,                          // push rbp
      0xe8, 0x0b, 0x00, 0x00, 0x00,  // call 0x401011 (the callee)
      0xe8, 0x00, 0x01, 0x00, 0x00,  // call 0x40110b (another function)
      0xff, 0xd0,                    // call rax (indirect)
      0xe8, 0x00, 0x00, 0x00, 0x00,  // call 0x401012: not it either
      0xc3,                          // ret
  };
  auto sites = call_sites(CpuArch::x86_64, code, 0x401000, 0x401011);
  ASSERT_TRUE(sites) << sites.error().message;
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_EQ((*sites)[0].offset, 1u);
  EXPECT_EQ((*sites)[0].placement, Placement::call);
  EXPECT_TRUE((*sites)[0].emulated);  // a relative CALL is emulated, unlike RET
  EXPECT_STREQ(to_string(Placement::call), "call");
  EXPECT_FALSE(call_sites(CpuArch::x86_64, code, 0x401000, 0x500000));
}

TEST(CallSites, FindsArm64BranchesWithLink) {
  const std::vector<uint8_t> code = {
      0xfd, 0x7b, 0xbf, 0xa9,  // stp x29, x30, [sp, #-16]!
      0x03, 0x00, 0x00, 0x94,  // bl +12 -> 0x10010
      0xc0, 0x03, 0x5f, 0xd6,  // ret
  };
  auto sites = call_sites(CpuArch::arm64, code, 0x10000, 0x10010);
  ASSERT_TRUE(sites) << sites.error().message;
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_EQ((*sites)[0].offset, 4u);
  EXPECT_TRUE((*sites)[0].emulated);
}

}  // namespace
}  // namespace hotalloc::probes
