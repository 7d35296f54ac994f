#include "heapprof/runtime_globals.h"

#include <map>
#include <memory>
#include <vector>

#include <capstone/capstone.h>

namespace hotalloc::heapprof {
namespace {

constexpr const char* kMbuckets = "runtime.mbuckets";
constexpr const char* kMemProfileRate = "runtime.MemProfileRate";
constexpr const char* kFlushLocked = "runtime.mProf_FlushLocked";
constexpr const char* kProfileAlloc = "runtime.profilealloc";
// Enough to cover the loads wanted: they come within the first 30
// instructions of both functions in every supported version.
constexpr size_t kMaxInstructions = 64;

struct CsHandle {
  csh h = 0;
  ~CsHandle() {
    if (h) cs_close(&h);
  }
};

struct CsInsns {
  cs_insn* insn = nullptr;
  size_t count = 0;
  ~CsInsns() {
    if (insn) cs_free(insn, count);
  }
};

// The addresses of the package variables `code` loads with 8-byte loads, in
// instruction order.
Result<std::vector<uint64_t>> global_loads(target::Arch arch, std::span<const uint8_t> code, uint64_t address) {
  CsHandle cs;
  bool arm = arch == target::Arch::arm64;
  if (cs_open(arm ? CS_ARCH_ARM64 : CS_ARCH_X86, arm ? CS_MODE_ARM : CS_MODE_64, &cs.h) != CS_ERR_OK)
    return fail("capstone cannot start");
  cs_option(cs.h, CS_OPT_DETAIL, CS_OPT_ON);
  CsInsns insns;
  insns.count = cs_disasm(cs.h, code.data(), code.size(), address, kMaxInstructions, &insns.insn);

  std::vector<uint64_t> loads;
  std::map<unsigned, uint64_t> page_of;  // arm64: register -> page ADRP put in it
  for (size_t i = 0; i < insns.count; i++) {
    const cs_insn& in = insns.insn[i];
    if (!arm) {
      // MOV r64, [RIP + disp]
      const cs_x86& x = in.detail->x86;
      if (in.id == X86_INS_MOV && x.op_count == 2 && x.operands[0].type == X86_OP_REG &&
          x.operands[1].type == X86_OP_MEM && x.operands[1].size == 8 && x.operands[1].mem.base == X86_REG_RIP &&
          x.operands[1].mem.index == X86_REG_INVALID)
        loads.push_back(in.address + in.size + static_cast<uint64_t>(x.operands[1].mem.disp));
      continue;
    }
    // ADRP Xn, page; then LDR Xm, [Xn, #off]
    const cs_arm64& a = in.detail->arm64;
    if (in.id == ARM64_INS_ADRP && a.op_count == 2 && a.operands[0].type == ARM64_OP_REG &&
        a.operands[1].type == ARM64_OP_IMM) {
      page_of[a.operands[0].reg] = static_cast<uint64_t>(a.operands[1].imm);
      continue;
    }
    if (in.id == ARM64_INS_LDR && a.op_count == 2 && a.operands[0].type == ARM64_OP_REG &&
        a.operands[1].type == ARM64_OP_MEM && a.operands[1].mem.index == ARM64_REG_INVALID &&
        a.operands[0].reg >= ARM64_REG_X0 && a.operands[0].reg <= ARM64_REG_X28) {
      auto page = page_of.find(a.operands[1].mem.base);
      if (page != page_of.end()) loads.push_back(page->second + static_cast<uint64_t>(a.operands[1].mem.disp));
    }
    // Any other write to a register ends what ADRP left in it.
    if (a.op_count > 0 && a.operands[0].type == ARM64_OP_REG) page_of.erase(a.operands[0].reg);
  }
  return loads;
}

Result<uint64_t> nth_global_load(const target::GoBinary& binary, const char* function, size_t n) {
  auto fn = binary.function(function);
  if (!fn) return fail("{} not found", function);
  auto loads = global_loads(binary.elf().arch(), fn->code, fn->address);
  if (!loads) return fail(loads.error());
  if (loads->size() <= n) return fail("{} does not load the expected package variables", function);
  return (*loads)[n];
}

}  // namespace

bool heap_profiling_linked(const target::GoBinary& binary) {
  return binary.pclntab().find(heap_profile_reader_function(binary)) != nullptr;
}

std::string heap_profile_reader_function(const target::GoBinary& binary) {
  return binary.go_version().at_least(1, 23) ? "runtime.memProfileInternal" : "runtime.MemProfile";
}

Result<RuntimeGlobals> find_runtime_globals(const target::GoBinary& binary) {
  RuntimeGlobals g;
  auto buckets = binary.elf().symbol_address(kMbuckets);
  auto rate = binary.elf().symbol_address(kMemProfileRate);
  if (buckets && rate) {
    g.mbuckets = *buckets;
    g.mem_profile_rate = *rate;
    g.from_symtab = true;
    return g;
  }
  auto decoded_buckets = nth_global_load(binary, kFlushLocked, 0);
  if (!decoded_buckets) return fail(decoded_buckets.error().context("find " + std::string(kMbuckets)));
  auto decoded_rate = nth_global_load(binary, kProfileAlloc, 1);
  if (!decoded_rate) return fail(decoded_rate.error().context("find " + std::string(kMemProfileRate)));
  g.mbuckets = *decoded_buckets;
  g.mem_profile_rate = *decoded_rate;
  return g;
}

}  // namespace hotalloc::heapprof
