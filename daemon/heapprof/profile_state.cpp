#include "heapprof/profile_state.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace hotalloc::heapprof {
namespace {

std::string why_not(const ProcessHeap& p) {
  if (!p.error.empty()) return fmt::format("pid {}: its heap profile cannot be read: {}", p.pid, p.error);
  if (!p.linked)
    return fmt::format(
        "pid {}: heap profiling is off: runtime.MemProfileRate is 0 because the binary never references {} "
        "(nothing in it imports runtime/pprof), so the Go linker disabled the runtime's sampling. hotalloc never "
        "writes to a target; to get sites and profiles, import runtime/pprof (or net/http/pprof) in the program, or "
        "set runtime.MemProfileRate at its start",
        p.pid, p.reader_function);
  return fmt::format(
      "pid {}: heap profiling is off: the program set runtime.MemProfileRate to 0 (or runs with "
      "GODEBUG=memprofilerate=0), so the runtime samples no allocations",
      p.pid);
}

}  // namespace

ProfileState profile_state(std::span<const ProcessHeapPtr> processes) {
  ProfileState s;
  std::vector<std::string> problems;
  for (const ProcessHeapPtr& p : processes) {
    if (p->error.empty()) s.rate = s.rate < 0 ? p->rate : std::min(s.rate, p->rate);
    if (p->error.empty() && p->rate > 0) {
      s.sampling.push_back(p);
    } else {
      problems.push_back(why_not(*p));
    }
  }
  if (processes.empty()) problems.push_back("no live process: a heap profile lives in a running process's memory");
  s.message = fmt::format("{}", fmt::join(problems, "; "));
  return s;
}

}  // namespace hotalloc::heapprof
