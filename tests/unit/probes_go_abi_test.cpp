// The register arguments of the functions hotalloc hooks, per Go version,
// read from the binaries themselves. A Go function's stack check branches to
// a trailer that spills every register argument, in order, calls
// runtime.morestack_noctxt and reloads them: a per-binary record of the ABI
// assignment. This checks the register map the BPF programs use
// (bpf/goabi.bpf.h: RAX, RBX, RCX, RDI, RSI, ...; only the low byte of a
// bool or uint8) against every supported toolchain, in every build mode.
#include <capstone/capstone.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "probes/hooks.h"
#include "probes/placement.h"
#include "target/go_binary.h"
#include "target_test_support.h"

namespace hotalloc::probes {
namespace {

using target::GoBinary;
using target::GoVersion;

// The registers a function's morestack trailer spills to the stack before
// calling morestack, as Capstone names them ("rax", "bl", "ecx"...).
std::vector<std::string> spilled_arguments(const target::FunctionInfo& fn) {
  auto site = place_probe(CpuArch::x86_64, fn.code, fn.address);
  if (!site || site->placement != Placement::stack_check_branch) return {"(no stack check)"};
  uint64_t trailer = std::stoull(site->instruction.substr(site->instruction.find("0x")), nullptr, 16);
  if (trailer < fn.address || trailer >= fn.address + fn.code.size()) return {"(trailer outside the function)"};

  csh h = 0;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) return {"(capstone)"};
  cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
  cs_insn* insns = nullptr;
  auto code = fn.code.subspan(trailer - fn.address);
  size_t n = cs_disasm(h, code.data(), code.size(), trailer, 64, &insns);
  std::vector<std::string> regs;
  for (size_t i = 0; i < n && insns[i].id != X86_INS_CALL; i++) {
    const cs_x86& x = insns[i].detail->x86;
    if (insns[i].id == X86_INS_MOV && x.op_count == 2 && x.operands[0].type == X86_OP_MEM &&
        x.operands[0].mem.base == X86_REG_RSP && x.operands[1].type == X86_OP_REG)
      regs.push_back(cs_reg_name(h, x.operands[1].reg));
  }
  cs_free(insns, n);
  cs_close(&h);
  return regs;
}

// One function's arguments in a range of Go versions (minor numbers,
// inclusive), as its trailer spills them; the function exists in exactly
// those versions (in binaries that reach it: tests/targets/maps_basic
// reaches all of these).
struct Expected {
  std::string_view function;
  int first, last;
  std::vector<std::string_view> registers;
};

const std::vector<Expected>& expected() {
  static const std::vector<Expected> table = {
      // Span accounting (always on).
      {"runtime.(*mcache).refill", 19, 27, {"rax", "bl"}},  // c *mcache, spc spanClass (uint8)
      {"runtime.(*mcache).releaseAll", 19, 27, {"rax"}},
      {"runtime.(*mcache).allocLarge", 19, 27, {"rax", "rbx", "cl"}},  // c, size, noscan bool
      // The allocator entry points: mallocgc split by kind in 1.24; the
      // scan and tiny kinds lost needzero in 1.25; 1.27's compiler calls
      // size-specialized ones directly (and mallocgcTiny became mallocgcTinySC2).
      {"runtime.mallocgc", 19, 27, {"rax", "rbx", "cl"}},  // size, typ, needzero
      {"runtime.newobject", 19, 27, {"rax"}},
      {"runtime.newarray", 19, 27, {"rax", "rbx"}},  // typ, n
      // growslice: (et, old.ptr, old.len, old.cap, cap) in 1.19, (oldPtr,
      // newLen, oldCap, num, et) from 1.20: five words either way.
      {"runtime.growslice", 19, 27, {"rax", "rbx", "rcx", "rdi", "rsi"}},
      {"runtime.mallocgcSmallNoscan", 24, 27, {"rax", "rbx", "cl"}},
      {"runtime.mallocgcLarge", 24, 27, {"rax", "rbx", "cl"}},
      {"runtime.mallocgcTiny", 24, 24, {"rax", "rbx", "cl"}},
      {"runtime.mallocgcTiny", 25, 26, {"rax", "rbx"}},
      {"runtime.mallocgcSmallScanNoHeader", 24, 24, {"rax", "rbx", "cl"}},
      {"runtime.mallocgcSmallScanNoHeader", 25, 27, {"rax", "rbx"}},
      {"runtime.mallocgcSmallScanHeader", 24, 24, {"rax", "rbx", "cl"}},
      {"runtime.mallocgcSmallScanHeader", 25, 27, {"rax", "rbx"}},
      {"runtime.mallocgcTinySC2", 27, 27, {"rax", "rbx", "cl"}},
      {"runtime.mallocgcSmallNoScanSC3", 27, 27, {"rax", "rbx", "cl"}},
      {"runtime.mallocgcSmallScanNoHeaderSC3", 27, 27, {"rax", "rbx", "cl"}},
      // The sampled heap profile: mProf_Malloc gained mp *m in 1.23,
      // mProf_Free lost its size in 1.27.
      {"runtime.mProf_Malloc", 19, 22, {"rax", "rbx"}},
      {"runtime.mProf_Malloc", 23, 27, {"rax", "rbx", "rcx"}},
      {"runtime.mProf_Free", 19, 26, {"rax", "rbx"}},
      {"runtime.mProf_Free", 27, 27, {"rax"}},
      {"runtime.profilealloc", 19, 27, {"rax", "rbx", "rcx"}},
      // GC cycles: gcTrigger is {kind, now, n uint32}; gcMarkTermination
      // took the stop-the-world record from 1.22 (reason uint8 first).
      {"runtime.gcStart", 19, 27, {"rax", "rbx", "ecx"}},
      {"runtime.gcMarkTermination", 19, 21, {}},
      {"runtime.gcMarkTermination", 22, 22, {"al", "rbx"}},
      {"runtime.gcMarkTermination", 23, 27, {"al", "rbx", "rcx", "rdi"}},
      // Maps: the runtime.map* entry points in every version (swiss maps
      // are link-named onto them from 1.24); keys by value in ECX/RCX, a
      // string as RCX (ptr) and RDI (len), other keys by pointer in RCX.
      {"runtime.makemap", 19, 27, {"rax", "rbx", "rcx"}},  // *maptype, hint, *map
      {"runtime.makemap_small", 19, 27, {}},
      {"runtime.mapassign", 19, 27, {"rax", "rbx", "rcx"}},
      {"runtime.mapassign_fast32", 19, 27, {"rax", "rbx", "ecx"}},
      {"runtime.mapassign_fast64", 19, 27, {"rax", "rbx", "rcx"}},
      {"runtime.mapassign_fast64ptr", 19, 27, {"rax", "rbx", "rcx"}},
      {"runtime.mapassign_faststr", 19, 27, {"rax", "rbx", "rcx", "rdi"}},
      // Classic map growth (*maptype, *hmap[, bucket]) up to 1.23 ...
      {"runtime.hashGrow", 19, 23, {"rax", "rbx"}},
      {"runtime.growWork", 19, 23, {"rax", "rbx", "rcx"}},
      {"runtime.evacuate", 19, 23, {"rax", "rbx", "rcx"}},
      {"runtime.evacuate_fast32", 19, 23, {"rax", "rbx", "rcx"}},
      {"runtime.evacuate_fast64", 19, 23, {"rax", "rbx", "rcx"}},
      {"runtime.evacuate_faststr", 19, 23, {"rax", "rbx", "rcx"}},
      // ... swiss growth from 1.24: (*Map, *MapType); tables (*table,
      // *MapType, *Map[, newCapacity uint16]).
      {"internal/runtime/maps.(*Map).growToSmall", 24, 27, {"rax", "rbx"}},
      {"internal/runtime/maps.(*Map).growToTable", 24, 27, {"rax", "rbx"}},
      {"internal/runtime/maps.(*Map).installTableSplit", 24, 27, {"rax", "rbx", "rcx", "rdi"}},
      {"internal/runtime/maps.(*table).grow", 24, 27, {"rax", "rbx", "rcx", "di"}},
      {"internal/runtime/maps.(*table).split", 24, 27, {"rax", "rbx", "rcx"}},
      {"internal/runtime/maps.(*table).rehash", 24, 27, {"rax", "rbx", "rcx"}},
      {"internal/runtime/maps.(*table).pruneTombstones", 25, 27, {"rax", "rbx", "rcx"}},
  };
  return table;
}

std::string joined(const std::vector<std::string>& regs) {
  std::string out;
  for (const auto& r : regs) out += (out.empty() ? "" : " ") + r;
  return out;
}

// Every function, every version, default, stripped (pclntab only) and PIE:
// present exactly in its versions, with exactly the registers expected.
TEST(GoAbi, ArgumentRegistersOfEveryVersion) {
  for (const auto& version : target::testing::all_go_versions()) {
    auto go = GoVersion::parse("go" + version);
    ASSERT_TRUE(go);
    for (const char* mode : {"default", "stripped", "pie"}) {
      TARGET_BINARY(path, "maps_basic", version, mode);
      auto bin = GoBinary::open(path);
      ASSERT_TRUE(bin) << bin.error().message;
      std::map<std::string_view, bool> exists_somewhere;
      for (const Expected& e : expected()) {
        bool in_range = go->minor >= e.first && go->minor <= e.last;
        auto fn = bin->get()->function(e.function);
        exists_somewhere[e.function] |= in_range;
        if (!in_range) continue;
        ASSERT_TRUE(fn) << path << ": " << e.function << " should exist in Go " << version;
        std::vector<std::string> want(e.registers.begin(), e.registers.end());
        EXPECT_EQ(joined(spilled_arguments(*fn)), joined(want)) << path << ": " << e.function;
      }
      for (const auto& [function, exists] : exists_somewhere) {
        if (!exists) {
          EXPECT_FALSE(bin->get()->function(function)) << path << ": " << function << " in Go " << version;
        }
      }
    }
  }
}

// kHooks only names functions whose arguments are checked above (or which
// take none), so a hook cannot read a register its function does not set.
TEST(GoAbi, EveryHookIsChecked) {
  for (const HookSpec& hook : kHooks) {
    bool known = false;
    for (const Expected& e : expected()) known |= e.function == hook.symbol;
    EXPECT_TRUE(known) << hook.symbol << ": add its arguments to the table above";
  }
}

// plan_probes puts each kind of hook where its program reads what it needs:
// prologues, makemap's hash-seed call or RETs, every mallocgc call in growslice (one
// probe at each call call_sites finds there, no more, no fewer), and the growslice
// program whose register arguments match the binary's version.
TEST(GoAbi, PlanPlacesEveryKindOfSite) {
  for (const auto& version : target::testing::all_go_versions()) {
    auto go = GoVersion::parse("go" + version);
    ASSERT_TRUE(go);
    TARGET_BINARY(path, "maps_basic", version, "default");
    auto bin = GoBinary::open(path);
    ASSERT_TRUE(bin) << bin.error().message;
    auto plan = plan_probes(*bin->get());
    ASSERT_TRUE(plan) << plan.error().message;
    std::map<ha_probe, std::vector<const PlannedProbe*>> by_probe;
    for (const PlannedProbe& p : plan->probes) by_probe[p.probe].push_back(&p);

    ASSERT_EQ(by_probe[HA_PROBE_REFILL].size(), 1u) << path;
    EXPECT_EQ(by_probe[HA_PROBE_REFILL][0]->tier, Tier::always);
    EXPECT_NE(by_probe[HA_PROBE_REFILL][0]->site.placement, Placement::ret);

    // Map constructors: the hash-seed call (emulated) where the runtime calls
    // rand — makemap_small from Go 1.22 on, and classic makemap (1.22, 1.23;
    // the swiss one leaves it to maps.NewMap) — else every RET.
    std::map<std::string, std::vector<const PlannedProbe*>> makemap;
    for (const PlannedProbe* p : by_probe[HA_PROBE_MAKEMAP]) makemap[p->symbol].push_back(p);
    ASSERT_EQ(makemap.size(), 2u) << path;
    bool seeded_by_call = go->at_least(1, 22);
    bool classic = !go->at_least(1, 24);
    for (const auto& [symbol, probes] : makemap) {
      SCOPED_TRACE(symbol);
      bool at_call = seeded_by_call && (symbol == "runtime.makemap_small" || classic);
      if (at_call) {
        ASSERT_EQ(probes.size(), 1u) << path;
        EXPECT_EQ(probes[0]->site.placement, Placement::call);
        EXPECT_TRUE(probes[0]->site.emulated);
        ASSERT_TRUE(probes[0]->site.stack_slot.has_value());
        EXPECT_EQ(probes[0]->cookie_flags() & HA_SITE_STACK_SLOT, HA_SITE_STACK_SLOT);
        EXPECT_EQ(probes[0]->cookie_slot(), *probes[0]->site.stack_slot);
      } else {
        ASSERT_FALSE(probes.empty()) << path;
        for (const PlannedProbe* p : probes) {
          EXPECT_EQ(p->site.placement, Placement::ret);
          EXPECT_EQ(p->cookie_flags() & HA_SITE_STACK_SLOT, 0);
          EXPECT_FALSE(p->site.note.empty());
        }
      }
    }

    bool go119 = !go->at_least(1, 20);
    EXPECT_EQ(by_probe[HA_PROBE_GROWSLICE_GO119].size(), go119 ? 1u : 0u) << path;
    EXPECT_EQ(by_probe[HA_PROBE_GROWSLICE].size(), go119 ? 0u : 1u) << path;
    ASSERT_FALSE(by_probe[HA_PROBE_GROWSLICE_ALLOC].empty()) << path;
    std::vector<uint64_t> planned_calls;
    for (const PlannedProbe* p : by_probe[HA_PROBE_GROWSLICE_ALLOC]) {
      EXPECT_EQ(p->site.placement, Placement::call);
      EXPECT_EQ(p->tier, Tier::inserts);
      EXPECT_EQ(p->attach_offset, p->function_file_offset + p->site.offset);
      EXPECT_EQ(p->symbol, "runtime.growslice");
      planned_calls.push_back(p->site.offset);
    }
    // Every mallocgc call in growslice has its probe, and nothing else does.
    auto growslice = bin->get()->function("runtime.growslice");
    auto mallocgc = bin->get()->function("runtime.mallocgc");
    ASSERT_TRUE(growslice) << path;
    ASSERT_TRUE(mallocgc) << path;
    CpuArch arch = bin->get()->elf().arch() == target::Arch::arm64 ? CpuArch::arm64 : CpuArch::x86_64;
    auto calls = call_sites(arch, growslice->code, growslice->address, mallocgc->address);
    ASSERT_TRUE(calls) << path << ": " << calls.error().message;
    std::vector<uint64_t> mallocgc_calls;
    for (const Site& c : *calls) mallocgc_calls.push_back(c.offset);
    std::sort(planned_calls.begin(), planned_calls.end());
    std::sort(mallocgc_calls.begin(), mallocgc_calls.end());
    EXPECT_EQ(planned_calls, mallocgc_calls) << path << ": offsets in runtime.growslice";
  }
}

}  // namespace
}  // namespace hotalloc::probes
