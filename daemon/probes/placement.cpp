#include "probes/placement.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <capstone/capstone.h>
#include <fmt/format.h>

namespace hotalloc::probes {
namespace {

// Go puts at most six instructions before the stack-check branch (arm64 huge
// frames: LDR, MOVZ, SUBS, B.LO, CMP, B.LS). Two more let the fall-through be
// decoded without reading far into the body.
constexpr size_t kPrologueInstructions = 8;

// Where g keeps the stack bound the prologue compares against:
// stackguard0, or stackguard1 in //go:systemstack functions.
constexpr int64_t kStackGuard0 = 0x10;
constexpr int64_t kStackGuard1 = 0x18;

bool is_stack_guard_offset(int64_t disp) { return disp == kStackGuard0 || disp == kStackGuard1; }

bool in_group(const cs_insn& insn, uint8_t group) {
  const cs_detail& d = *insn.detail;
  return std::find(d.groups, d.groups + d.groups_count, group) != d.groups + d.groups_count;
}

// What differs between the two architectures: which registers a prologue may
// clobber, which instructions make up the stack check, and which instructions
// the kernel runs without single-stepping them.
struct ArchRules {
  cs_arch cs_arch_id;
  cs_mode cs_mode_id;
  // Registers (and flags) the stack check may write before its branch:
  // neither arguments nor g.
  bool (*scratch)(unsigned reg);
  bool (*conditional_branch)(const cs_insn&);
  // Ends straight-line code: unconditional jumps, calls, returns, traps.
  bool (*leaves)(const cs_insn&);
  // Loads the stack bound into a register the compare reads later (arm64).
  bool (*loads_guard)(const cs_insn&);
  // Compares the stack pointer (or the scratch register holding SP minus the
  // frame size) with the stack bound, in the order that makes the branch
  // below taken exactly when morestack is needed.
  bool (*compares_with_guard)(const cs_insn&, bool guard_loaded);
  // The branch condition hotalloc's BPF filter assumes: JBE (CF or ZF set) /
  // B.LS (C clear or Z set).
  bool (*is_filtered_condition)(const cs_insn&);
  unsigned guard_register;  // writing it invalidates a loaded guard
  bool (*emulated)(const cs_insn&);
  // Instructions that write nothing but flags although Capstone 4 lists more.
  bool (*writes_only_flags)(const cs_insn&);
};

// ---- amd64 ---------------------------------------------------------------

bool x86_scratch(unsigned reg) {
  switch (reg) {
    case X86_REG_R12: case X86_REG_R12D: case X86_REG_R12W: case X86_REG_R12B:
    case X86_REG_R13: case X86_REG_R13D: case X86_REG_R13W: case X86_REG_R13B:
    case X86_REG_EFLAGS:
      return true;
    default:
      return false;
  }
}

// The jumps on flags (70-7F, 0F 80-8F), which the kernel emulates; JCXZ and
// LOOP branch conditionally too, but are stepped.
bool x86_jcc(const cs_insn& insn) {
  switch (insn.id) {
    case X86_INS_JO: case X86_INS_JNO: case X86_INS_JB: case X86_INS_JAE:
    case X86_INS_JE: case X86_INS_JNE: case X86_INS_JBE: case X86_INS_JA:
    case X86_INS_JS: case X86_INS_JNS: case X86_INS_JP: case X86_INS_JNP:
    case X86_INS_JL: case X86_INS_JGE: case X86_INS_JLE: case X86_INS_JG:
      return true;
    default:
      return false;
  }
}

bool x86_conditional_branch(const cs_insn& insn) {
  return in_group(insn, CS_GRP_JUMP) && insn.id != X86_INS_JMP && insn.id != X86_INS_LJMP;
}

bool x86_leaves(const cs_insn& insn) {
  return insn.id == X86_INS_JMP || insn.id == X86_INS_LJMP || in_group(insn, CS_GRP_CALL) ||
         in_group(insn, CS_GRP_RET) || in_group(insn, CS_GRP_INT) || in_group(insn, CS_GRP_IRET) ||
         insn.id == X86_INS_UD2 || insn.id == X86_INS_HLT;
}

bool x86_loads_guard(const cs_insn&) { return false; }  // the compare reads g directly

// CMP RSP|R12|R13, [R14 + stackguard]: R14 is g in Go's internal ABI.
bool x86_compares_with_guard(const cs_insn& insn, bool) {
  if (insn.id != X86_INS_CMP) return false;
  const cs_x86& x = insn.detail->x86;
  if (x.op_count != 2 || x.operands[0].type != X86_OP_REG || x.operands[1].type != X86_OP_MEM) return false;
  unsigned sp = x.operands[0].reg;
  const x86_op_mem& m = x.operands[1].mem;
  return (sp == X86_REG_RSP || sp == X86_REG_R12 || sp == X86_REG_R13) && m.base == X86_REG_R14 &&
         m.index == X86_REG_INVALID && m.segment == X86_REG_INVALID && is_stack_guard_offset(m.disp);
}

bool x86_is_jbe(const cs_insn& insn) { return insn.id == X86_INS_JBE; }

bool x86_has_prefix(const cs_insn& insn, uint8_t prefix) {
  const uint8_t* p = insn.detail->x86.prefix;
  return std::find(p, p + 4, prefix) != p + 4;
}

// The kernel emulates relative jumps and calls, conditional jumps, the
// one-byte NOP and (on recent kernels, including the 6.18 this project
// measured) PUSH of a general register; it rejects the 0x66 operand-size
// prefix on all of them. Everything else is single-stepped.
bool x86_emulated(const cs_insn& insn) {
  if (x86_has_prefix(insn, 0x66)) return false;
  const cs_x86& x = insn.detail->x86;
  bool rel = x.op_count == 1 && x.operands[0].type == X86_OP_IMM;
  switch (insn.id) {
    case X86_INS_JMP:
    case X86_INS_CALL:
      return rel;
    case X86_INS_NOP:
      return x.opcode[0] == 0x90;
    case X86_INS_PUSH:
      return x.opcode[0] >= 0x50 && x.opcode[0] <= 0x57;
    default:
      return x86_jcc(insn);
  }
}

bool x86_writes_only_flags(const cs_insn&) { return false; }

constexpr ArchRules kX86Rules{
    .cs_arch_id = CS_ARCH_X86,
    .cs_mode_id = CS_MODE_64,
    .scratch = x86_scratch,
    .conditional_branch = x86_conditional_branch,
    .leaves = x86_leaves,
    .loads_guard = x86_loads_guard,
    .compares_with_guard = x86_compares_with_guard,
    .is_filtered_condition = x86_is_jbe,
    .guard_register = X86_REG_INVALID,
    .emulated = x86_emulated,
    .writes_only_flags = x86_writes_only_flags,
};

// ---- arm64 ---------------------------------------------------------------

// R16/R17 are the prologue's scratch registers; R27 is REGTMP, the
// assembler's temporary, which huge-frame prologues use for the frame size.
// None carries an argument (R0-R15) or g (R28).
bool arm64_scratch(unsigned reg) {
  switch (reg) {
    case ARM64_REG_X16: case ARM64_REG_W16:
    case ARM64_REG_X17: case ARM64_REG_W17:
    case ARM64_REG_X27: case ARM64_REG_W27:
    case ARM64_REG_NZCV:
      return true;
    default:
      return false;
  }
}

bool arm64_b_cond(const cs_insn& insn) {
  arm64_cc cc = insn.detail->arm64.cc;
  return insn.id == ARM64_INS_B && cc != ARM64_CC_INVALID && cc != ARM64_CC_AL && cc != ARM64_CC_NV;
}

bool arm64_conditional_branch(const cs_insn& insn) {
  switch (insn.id) {
    case ARM64_INS_CBZ: case ARM64_INS_CBNZ: case ARM64_INS_TBZ: case ARM64_INS_TBNZ:
      return true;
    default:
      return arm64_b_cond(insn);
  }
}

bool arm64_leaves(const cs_insn& insn) {
  if (arm64_conditional_branch(insn)) return false;
  switch (insn.id) {
    case ARM64_INS_B: case ARM64_INS_BL: case ARM64_INS_BR: case ARM64_INS_BLR: case ARM64_INS_RET:
    case ARM64_INS_BRK: case ARM64_INS_HLT: case ARM64_INS_SVC:
      return true;
    default:
      return false;
  }
}

// LDR X16, [X28, #stackguard]: R28 is g.
bool arm64_loads_guard(const cs_insn& insn) {
  const cs_arm64& a = insn.detail->arm64;
  return insn.id == ARM64_INS_LDR && !a.writeback && a.op_count == 2 && a.operands[0].type == ARM64_OP_REG &&
         a.operands[0].reg == ARM64_REG_X16 && a.operands[1].type == ARM64_OP_MEM &&
         a.operands[1].mem.base == ARM64_REG_X28 && a.operands[1].mem.index == ARM64_REG_INVALID &&
         is_stack_guard_offset(a.operands[1].mem.disp);
}

// CMP SP, X16 or CMP X17, X16 (X17 = SP minus the frame size): flags of SP - bound.
bool arm64_compares_with_guard(const cs_insn& insn, bool guard_loaded) {
  const cs_arm64& a = insn.detail->arm64;
  if (!guard_loaded || insn.id != ARM64_INS_CMP || a.op_count != 2) return false;
  const cs_arm64_op& lhs = a.operands[0];
  const cs_arm64_op& rhs = a.operands[1];
  return lhs.type == ARM64_OP_REG && (lhs.reg == ARM64_REG_SP || lhs.reg == ARM64_REG_X17) &&
         rhs.type == ARM64_OP_REG && rhs.reg == ARM64_REG_X16 && rhs.shift.type == ARM64_SFT_INVALID;
}

bool arm64_is_b_ls(const cs_insn& insn) { return insn.id == ARM64_INS_B && insn.detail->arm64.cc == ARM64_CC_LS; }

// The kernel simulates branches (B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR, BLR,
// RET) and PC-relative address computations (ADR, ADRP); it steps the rest.
bool arm64_emulated(const cs_insn& insn) {
  switch (insn.id) {
    case ARM64_INS_B: case ARM64_INS_BL: case ARM64_INS_CBZ: case ARM64_INS_CBNZ:
    case ARM64_INS_TBZ: case ARM64_INS_TBNZ: case ARM64_INS_BR: case ARM64_INS_BLR:
    case ARM64_INS_RET: case ARM64_INS_ADR: case ARM64_INS_ADRP:
      return true;
    default:
      return false;
  }
}

// CMP, CMN and TST are SUBS/ADDS/ANDS into XZR, yet Capstone 4 lists their
// first operand (SP in `cmp sp, x16`) as written.
bool arm64_writes_only_flags(const cs_insn& insn) {
  return insn.id == ARM64_INS_CMP || insn.id == ARM64_INS_CMN || insn.id == ARM64_INS_TST;
}

constexpr ArchRules kArm64Rules{
    .cs_arch_id = CS_ARCH_ARM64,
    .cs_mode_id = CS_MODE_ARM,
    .scratch = arm64_scratch,
    .conditional_branch = arm64_conditional_branch,
    .leaves = arm64_leaves,
    .loads_guard = arm64_loads_guard,
    .compares_with_guard = arm64_compares_with_guard,
    .is_filtered_condition = arm64_is_b_ls,
    .guard_register = ARM64_REG_X16,
    .emulated = arm64_emulated,
    .writes_only_flags = arm64_writes_only_flags,
};

// ---- decoding ------------------------------------------------------------

struct CloseHandle {
  void operator()(csh* h) const { cs_close(h); }
};

struct FreeInsns {
  size_t count;
  void operator()(cs_insn* insns) const { cs_free(insns, count); }
};

std::string text_of(const cs_insn& insn) {
  if (insn.op_str[0] == '\0') return insn.mnemonic;
  return fmt::format("{} {}", insn.mnemonic, insn.op_str);
}

// The last immediate operand of a branch: Capstone resolves it to an address.
uint64_t branch_target(const cs_insn& insn, cs_arch arch) {
  if (arch == CS_ARCH_X86) {
    const cs_x86& x = insn.detail->x86;
    for (int i = x.op_count - 1; i >= 0; i--)
      if (x.operands[i].type == X86_OP_IMM) return static_cast<uint64_t>(x.operands[i].imm);
  } else {
    const cs_arm64& a = insn.detail->arm64;
    for (int i = a.op_count - 1; i >= 0; i--)
      if (a.operands[i].type == ARM64_OP_IMM) return static_cast<uint64_t>(a.operands[i].imm);
  }
  return 0;
}

struct Prologue {
  std::span<const cs_insn> insns;
  uint64_t address = 0;
  size_t code_size = 0;

  uint64_t offset(const cs_insn& insn) const { return insn.address - address; }
  std::string where(const cs_insn& insn) const { return fmt::format("+{} `{}`", offset(insn), text_of(insn)); }
  // Where the walk stopped without finding a stack check, for notes.
  std::string end(const cs_insn* stop) const {
    constexpr std::string_view kWhy = "(a leaf, NOSPLIT or assembly function)";
    if (stop) return fmt::format("before {} {}", where(*stop), kWhy);
    if (insns.size() == kPrologueInstructions) return fmt::format("in the first {} instructions {}", insns.size(), kWhy);
    const cs_insn& last = insns.back();
    uint64_t next = offset(last) + last.size;
    if (next >= code_size) return fmt::format("before the code ends at +{}", next);
    return fmt::format("before undecodable bytes at +{}", next);
  }
};

// The site of `insn`, in the function at `address`.
Site site_at(const ArchRules& rules, const cs_insn& insn, uint64_t address, Placement placement) {
  Site s;
  s.offset = insn.address - address;
  s.placement = placement;
  s.emulated = rules.emulated(insn);
  s.instruction = text_of(insn);
  return s;
}

Site entry_site(const ArchRules& rules, const Prologue& p, std::string note) {
  Site s = site_at(rules, p.insns.front(), p.address, Placement::entry);
  s.note = std::move(note);
  return s;
}

// The registers `insn` writes, flags included; nullopt when Capstone cannot tell.
std::optional<std::vector<uint16_t>> written_registers(const ArchRules& rules, csh handle, const cs_insn& insn) {
  cs_regs read, written;
  uint8_t nread = 0, nwritten = 0;
  if (cs_regs_access(handle, &insn, read, &nread, written, &nwritten) != CS_ERR_OK) return std::nullopt;
  if (rules.writes_only_flags(insn)) return std::vector<uint16_t>{};
  return std::vector<uint16_t>(written, written + nwritten);
}

// The first write of a register that is neither scratch nor flags, as text
// for a note; empty when there is none.
std::string clobber_of(const ArchRules& rules, csh handle, const Prologue& p, const cs_insn& insn,
                       const std::optional<std::vector<uint16_t>>& written) {
  if (!written) return fmt::format("{} may write any register", p.where(insn));
  for (uint16_t reg : *written)
    if (!rules.scratch(reg)) return fmt::format("{} writes {}", p.where(insn), cs_reg_name(handle, reg));
  return "";
}

Site branch_site(const ArchRules& rules, const Prologue& p, size_t i) {
  Site s = site_at(rules, p.insns[i], p.address, Placement::stack_check_branch);
  s.drop_taken_branch = true;
  if (i + 1 < p.insns.size() && rules.emulated(p.insns[i + 1]))
    s.alternatives.push_back(site_at(rules, p.insns[i + 1], p.address, Placement::after_stack_check));
  return s;
}

// Walks the prologue up to the stack-check branch and places the probe.
Site place(const ArchRules& rules, csh handle, const Prologue& p) {
  std::string clobber;                  // the first write of an argument register or g
  std::vector<const cs_insn*> earlier;  // conditional branches before the stack check
  bool guard_loaded = false;
  const cs_insn* prev = nullptr;
  const cs_insn* stop = nullptr;
  for (size_t i = 0; i < p.insns.size(); i++) {
    const cs_insn& insn = p.insns[i];
    if (rules.leaves(insn)) {
      stop = &insn;
      break;
    }
    auto written = written_registers(rules, handle, insn);
    if (clobber.empty()) clobber = clobber_of(rules, handle, p, insn, written);
    if (rules.conditional_branch(insn)) {
      bool stack_check =
          prev && rules.is_filtered_condition(insn) && rules.compares_with_guard(*prev, guard_loaded);
      if (stack_check) {
        if (!clobber.empty())
          return entry_site(rules, p,
                            fmt::format("stack-check branch {} not used: {} before it; probing the entry, "
                                        "whose hits repeat when the function grows its stack",
                                        p.where(insn), clobber));
        uint64_t target = branch_target(insn, rules.cs_arch_id);
        for (const cs_insn* b : earlier)
          if (branch_target(*b, rules.cs_arch_id) != target)
            return entry_site(rules, p,
                              fmt::format("stack-check branch {} not used: {} before it goes elsewhere, so "
                                          "calls taking it would be missed; probing the entry",
                                          p.where(insn), p.where(*b)));
        return branch_site(rules, p, i);
      }
      earlier.push_back(&insn);
    }
    if (rules.loads_guard(insn))
      guard_loaded = true;
    else if (!written || std::ranges::find(*written, rules.guard_register) != written->end())
      guard_loaded = false;
    prev = &insn;
  }
  return entry_site(rules, p, fmt::format("no stack check {}; probing the entry", p.end(stop)));
}

}  // namespace

const char* to_string(Placement p) {
  switch (p) {
    case Placement::stack_check_branch: return "stack_check_branch";
    case Placement::after_stack_check: return "after_stack_check";
    case Placement::entry: return "entry";
    case Placement::ret: return "return";
    case Placement::call: return "call";
  }
  return "unknown";
}

namespace {

// Decoded instructions and the handle that decoded them, freed together.
struct Decoded {
  std::unique_ptr<csh, CloseHandle> handle;
  std::unique_ptr<cs_insn, FreeInsns> insns;
  size_t count = 0;
};

Result<Decoded> decode(const ArchRules& rules, csh& raw_handle, std::span<const uint8_t> code, uint64_t address,
                       size_t max_insns) {
  if (code.empty()) return fail("no code to decode at {:#x}", address);
  if (cs_err err = cs_open(rules.cs_arch_id, rules.cs_mode_id, &raw_handle); err != CS_ERR_OK)
    return fail("capstone: {}", cs_strerror(err));
  Decoded d{std::unique_ptr<csh, CloseHandle>(&raw_handle), nullptr};
  cs_option(raw_handle, CS_OPT_DETAIL, CS_OPT_ON);
  cs_insn* raw_insns = nullptr;
  d.count = cs_disasm(raw_handle, code.data(), code.size(), address, max_insns, &raw_insns);
  d.insns = std::unique_ptr<cs_insn, FreeInsns>(raw_insns, FreeInsns{d.count});
  if (d.count == 0) return fail("cannot decode the first instruction at {:#x}", address);
  return d;
}

}  // namespace

Result<Site> place_probe(CpuArch arch, std::span<const uint8_t> code, uint64_t address) {
  const ArchRules& rules = arch == CpuArch::x86_64 ? kX86Rules : kArm64Rules;
  csh raw_handle = 0;
  auto d = decode(rules, raw_handle, code, address, kPrologueInstructions);
  if (!d) return fail(d.error());
  Prologue p{std::span<const cs_insn>(d->insns.get(), d->count), address, code.size()};
  return place(rules, raw_handle, p);
}

namespace {

// Every instruction of the whole function `code` that `wanted` picks, as
// sites of `placement`: Go text holds no data, so a linear sweep sees them all.
template <typename Pick>
Result<std::vector<Site>> sweep(CpuArch arch, std::span<const uint8_t> code, uint64_t address, Placement placement,
                                Pick wanted) {
  const ArchRules& rules = arch == CpuArch::x86_64 ? kX86Rules : kArm64Rules;
  csh raw_handle = 0;
  auto d = decode(rules, raw_handle, code, address, 0);
  if (!d) return fail(d.error());
  std::vector<Site> sites;
  for (const cs_insn& insn : std::span<const cs_insn>(d->insns.get(), d->count))
    if (wanted(rules, insn)) sites.push_back(site_at(rules, insn, address, placement));
  return sites;
}

}  // namespace

Result<std::vector<Site>> return_sites(CpuArch arch, std::span<const uint8_t> code, uint64_t address) {
  auto sites = sweep(arch, code, address, Placement::ret,
                     [](const ArchRules&, const cs_insn& insn) { return in_group(insn, CS_GRP_RET); });
  if (sites && sites->empty()) return fail("no return instruction in the {} bytes at {:#x}", code.size(), address);
  return sites;
}

Result<std::vector<Site>> call_sites(CpuArch arch, std::span<const uint8_t> code, uint64_t address,
                                     uint64_t callee) {
  auto sites = sweep(arch, code, address, Placement::call, [&](const ArchRules& rules, const cs_insn& insn) {
    // CALL rel32 / BL imm26 (Capstone 4 puts BL in no call group).
    bool direct = arch == CpuArch::arm64 ? insn.id == ARM64_INS_BL : insn.id == X86_INS_CALL;
    return direct && branch_target(insn, rules.cs_arch_id) == callee;
  });
  if (sites && sites->empty()) return fail("no call of {:#x} in the {} bytes at {:#x}", callee, code.size(), address);
  return sites;
}

namespace {

// MOV r64, [RSP + disp]: the reload of a spilled pointer; its register and
// slot, or nullopt.
std::optional<std::pair<unsigned, uint16_t>> x86_reload_from_stack(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  if (insn.id != X86_INS_MOV || x.op_count != 2 || x.operands[0].type != X86_OP_REG ||
      x.operands[1].type != X86_OP_MEM || x.operands[1].size != 8)
    return std::nullopt;
  const x86_op_mem& m = x.operands[1].mem;
  if (m.base != X86_REG_RSP || m.index != X86_REG_INVALID || m.segment != X86_REG_INVALID || m.disp < 0 ||
      m.disp > UINT16_MAX)
    return std::nullopt;
  return std::pair{x.operands[0].reg, static_cast<uint16_t>(m.disp)};
}

// MOV [base + disp], EAX|RAX: the call's result stored through `base`.
bool x86_stores_result_through(const cs_insn& insn, unsigned base) {
  const cs_x86& x = insn.detail->x86;
  if (insn.id != X86_INS_MOV || x.op_count != 2 || x.operands[0].type != X86_OP_MEM ||
      x.operands[1].type != X86_OP_REG)
    return false;
  const x86_op_mem& m = x.operands[0].mem;
  unsigned src = x.operands[1].reg;
  return m.base == base && m.index == X86_REG_INVALID && m.segment == X86_REG_INVALID &&
         (src == X86_REG_EAX || src == X86_REG_RAX);
}

// MOV RBP, RSP or LEA RBP, [RSP + disp]: the frame pointer is set.
bool x86_sets_frame_pointer(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  if (x.op_count != 2 || x.operands[0].type != X86_OP_REG || x.operands[0].reg != X86_REG_RBP) return false;
  if (insn.id == X86_INS_MOV) return x.operands[1].type == X86_OP_REG && x.operands[1].reg == X86_REG_RSP;
  if (insn.id == X86_INS_LEA) return x.operands[1].type == X86_OP_MEM && x.operands[1].mem.base == X86_REG_RSP;
  return false;
}

}  // namespace

Result<Site> pointer_across_call_site(CpuArch arch, std::span<const uint8_t> code, uint64_t address,
                                      std::span<const uint64_t> callees) {
  if (arch != CpuArch::x86_64) return fail("reading a pointer across a call is implemented for amd64 only");
  csh raw_handle = 0;
  auto d = decode(kX86Rules, raw_handle, code, address, 0);
  if (!d) return fail(d.error());
  std::span<const cs_insn> insns(d->insns.get(), d->count);
  bool frame_set = false;
  for (size_t i = 0; i + 2 < insns.size(); i++) {
    const cs_insn& insn = insns[i];
    frame_set |= x86_sets_frame_pointer(insn);
    if (!frame_set || insn.id != X86_INS_CALL) continue;
    uint64_t target = branch_target(insn, CS_ARCH_X86);
    if (std::find(callees.begin(), callees.end(), target) == callees.end()) continue;
    auto reload = x86_reload_from_stack(insns[i + 1]);
    if (!reload || !x86_stores_result_through(insns[i + 2], reload->first)) continue;
    Site s = site_at(kX86Rules, insn, address, Placement::call);  // a direct CALL: emulated
    s.stack_slot = reload->second;
    return s;
  }
  return fail("no call whose result is stored through a pointer reloaded from the stack in the {} bytes at {:#x}",
              code.size(), address);
}

}  // namespace hotalloc::probes
