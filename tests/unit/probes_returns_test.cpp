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

// runtime.makemap_small of Go 1.22 (the same shape through 1.27): the map
// from newobject is spilled, rand is called, and the seed is stored through
// the reloaded pointer.
std::vector<uint8_t> makemap_small_code(bool with_frame_pointer) {
  std::vector<uint8_t> code = {
      0x55,                                // push rbp
      0x48, 0x89, 0xe5,                    // mov rbp, rsp
      0x48, 0x83, 0xec, 0x18,              // sub rsp, 0x18
      0xe8, 0xf3, 0x0f, 0x00, 0x00,        // call 0x402000 (newobject)
      0x48, 0x89, 0x44, 0x24, 0x10,        // mov [rsp+0x10], rax
      0x90,                                // nop
      0xe8, 0xe8, 0x1f, 0x00, 0x00,        // call 0x403000 (rand)
      0x48, 0x8b, 0x4c, 0x24, 0x10,        // mov rcx, [rsp+0x10]
      0x89, 0x41, 0x0c,                    // mov [rcx+0xc], eax
      0x48, 0x89, 0xc8,                    // mov rax, rcx
      0x48, 0x83, 0xc4, 0x18,              // add rsp, 0x18
      0x5d,                                // pop rbp
      0xc3,                                // ret
  };
  if (!with_frame_pointer) std::fill(code.begin() + 1, code.begin() + 4, 0x90);  // nops for mov rbp, rsp
  return code;
}

TEST(PointerAcrossCall, FindsTheSeedCallOfAMapConstructor) {
  const uint64_t rand = 0x403000, unrelated = 0x404000;
  auto code = makemap_small_code(true);
  auto site = pointer_across_call_site(CpuArch::x86_64, code, 0x401000, std::vector<uint64_t>{unrelated, rand});
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->offset, 19u);
  EXPECT_EQ(site->placement, Placement::call);
  EXPECT_TRUE(site->emulated);
  ASSERT_TRUE(site->stack_slot.has_value());
  EXPECT_EQ(*site->stack_slot, 0x10);
  EXPECT_EQ(site->instruction, "call 0x403000");
}

TEST(PointerAcrossCall, NeedsTheCalleeTheStoreAndTheFramePointer) {
  const uint64_t rand = 0x403000, newobject = 0x402000;
  auto code = makemap_small_code(true);
  // newobject's result is spilled, not stored through a reloaded pointer.
  EXPECT_FALSE(pointer_across_call_site(CpuArch::x86_64, code, 0x401000, std::vector<uint64_t>{newobject}));
  EXPECT_FALSE(pointer_across_call_site(CpuArch::x86_64, code, 0x401000, std::vector<uint64_t>{}));
  // Without the frame set up, the caller's return address is not one frame up.
  auto no_frame = makemap_small_code(false);
  EXPECT_FALSE(pointer_across_call_site(CpuArch::x86_64, no_frame, 0x401000, std::vector<uint64_t>{rand}));
  // The store writes the seed through another register than the reloaded one.
  auto other_base = makemap_small_code(true);
  other_base[30] = 0x42;  // mov [rdx+0xc], eax
  EXPECT_FALSE(pointer_across_call_site(CpuArch::x86_64, other_base, 0x401000, std::vector<uint64_t>{rand}));
  EXPECT_FALSE(pointer_across_call_site(CpuArch::arm64, code, 0x401000, std::vector<uint64_t>{rand}));
}

}  // namespace
}  // namespace hotalloc::probes
