// Probe placement: which instruction of a Go function a uprobe goes on.
//
// A uprobe on an instruction the kernel single-steps (a Go function's first
// instruction, the stack-bound CMP, MOV, SUB, LEA) costs about ten times one
// on an instruction it emulates (a conditional branch, PUSHQ BP). Every Go
// function with a frame begins with a stack check whose conditional branch
// leads to morestack, after which the function re-runs its prologue, so a
// probe at or before that branch fires twice for one call unless the BPF
// program drops the hit where the branch is about to be taken. The branch is
// emulated, and until it runs only scratch registers and flags have been
// written, so it is the preferred site: place_probe decodes the prologue with
// Capstone, finds that branch and checks that nothing before it wrote an
// argument register or g.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace hotalloc::probes {

enum class CpuArch { x86_64, arm64 };

enum class Placement {
  stack_check_branch,  // the JBE / B.LS that leads to morestack; needs the taken-branch filter
  after_stack_check,   // the instruction the branch falls through to; runs once per call
  entry,               // the function's first instruction; a fallback
  ret,                 // a return instruction, where a result is read (never a uretprobe)
  call,                // a call of another function: its arguments, or a value kept across it, are read
};

// "stack_check_branch", "after_stack_check", "entry", "return", "call".
const char* to_string(Placement);

struct Site {
  uint64_t offset = 0;  // bytes from the function's entry
  Placement placement = Placement::entry;
  bool emulated = false;           // the kernel emulates (does not single-step) this instruction
  bool drop_taken_branch = false;  // set HA_SITE_STACK_CHECK_BRANCH in the cookie
  std::string instruction;         // e.g. "jbe 0x41a2f0", shown by `hotallocctl status`
  std::string note;                // why a fallback was taken, empty otherwise
  // A call site whose program reads a pointer the function keeps in a stack
  // slot across the call: the slot's offset from SP at the call.
  std::optional<uint16_t> stack_slot;
  // Other sites that also see the entry arguments and count each call once,
  // best first. Today only the fall-through of the stack check when the
  // kernel emulates it (PUSHQ BP on amd64 from Go 1.21 on; RSP is 8 lower
  // there). Empty for a fallback.
  std::vector<Site> alternatives;
};

// `code` starts at the function's entry: at least its first ~48 bytes, or the
// whole function. `address` is its virtual address, used for the disassembly
// text only. Fails only when the first instruction cannot be decoded (or
// Capstone cannot start); a function without a usable stack check gets the
// entry, with a note saying why.
Result<Site> place_probe(CpuArch arch, std::span<const uint8_t> code, uint64_t address);

// Every return instruction of the function whose whole code is `code`, for
// probes that read a result: a uretprobe would rewrite the return address
// on a goroutine stack the runtime may move. Go text holds no data, so a
// linear sweep finds them all; it stops at bytes it cannot decode (the
// padding after the function). Fails when there is none.
Result<std::vector<Site>> return_sites(CpuArch arch, std::span<const uint8_t> code, uint64_t address);

// Every direct call of the function at `callee` in the function whose whole
// code is `code` (a linear sweep, as return_sites): there the callee's
// arguments are in their registers, read without a probe on the callee,
// which other callers reach too. Fails when there is none.
Result<std::vector<Site>> call_sites(CpuArch arch, std::span<const uint8_t> code, uint64_t address,
                                     uint64_t callee);

// The call of one of `callees` right after which the function reloads a
// pointer from a stack slot and stores the call's result through it: in a map
// constructor, `h.hash0 = rand()` after `h = new(hmap)`. A Go call clobbers
// every register, so the pointer is in that slot across the call, readable
// there (the kernel emulates the CALL; a RET it single-steps, ~10x the cost).
// The function's frame pointer is set by then, so its caller's return
// address is one frame up. Site::stack_slot is the slot's offset from SP.
// amd64 only; fails when there is no such call.
Result<Site> pointer_across_call_site(CpuArch arch, std::span<const uint8_t> code, uint64_t address,
                                      std::span<const uint64_t> callees);

}  // namespace hotalloc::probes
