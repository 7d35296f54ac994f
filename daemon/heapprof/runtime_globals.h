// Where a Go binary keeps the runtime's sampled heap profile: the head of its
// list of memory-profile buckets (runtime.mbuckets) and the sampling rate
// (runtime.MemProfileRate). Both are package variables, named in .symtab when
// there is one; stripped binaries keep only functions (in .gopclntab), so the
// addresses are then read off the instructions of two runtime functions that
// load them first thing, the same in every supported version (checked against
// .symtab on real binaries of all of them in the tests):
//
//   runtime.mProf_FlushLocked  the first RIP-relative load is runtime.mbuckets
//   runtime.profilealloc       the first loads runtime.mcache0 (getMCache),
//                              the second runtime.MemProfileRate (nextSample)
//
// On arm64 a load of a package variable is ADRP + LDR; the same order holds.
#pragma once

#include <cstdint>
#include <string>

#include "target/go_binary.h"
#include "util/result.h"

namespace hotalloc::heapprof {

struct RuntimeGlobals {
  uint64_t mbuckets = 0;          // link-time address of runtime.mbuckets (*bucket)
  uint64_t mem_profile_rate = 0;  // link-time address of runtime.MemProfileRate (int)
  bool from_symtab = false;       // else decoded from the two functions
};

// Whether the linker left heap profiling on. It turns it off (sets
// runtime.disableMemoryProfiling, so MemProfileRate is 0 from the start)
// when nothing in the program can read the profile: when the function the
// profile is read through (runtime.MemProfile before Go 1.23,
// runtime.memProfileInternal from 1.23) is not in the binary.
bool heap_profiling_linked(const target::GoBinary& binary);

// The function whose presence heap_profiling_linked checks, for messages.
std::string heap_profile_reader_function(const target::GoBinary& binary);

Result<RuntimeGlobals> find_runtime_globals(const target::GoBinary& binary);

}  // namespace hotalloc::heapprof
