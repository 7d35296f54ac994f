#include "heapprof/process_memory.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

namespace hotalloc::heapprof {

Status ProcessMemory::read(std::span<const Range> ranges) {
  std::vector<iovec> local, remote;
  for (size_t start = 0; start < ranges.size(); start += IOV_MAX) {
    auto batch = ranges.subspan(start, std::min<size_t>(IOV_MAX, ranges.size() - start));
    local.clear();
    remote.clear();
    size_t want = 0;
    for (const Range& r : batch) {
      local.push_back({r.into.data(), r.into.size()});
      remote.push_back({reinterpret_cast<void*>(r.address), r.into.size()});
      want += r.into.size();
    }
    ssize_t got = process_vm_readv(pid_, local.data(), local.size(), remote.data(), remote.size(), 0);
    if (got < 0) return fail_errno(errno, fmt::format("read memory of pid {}", pid_));
    if (static_cast<size_t>(got) == want) continue;
    // A short read stops at the first remote range that is not mapped whole.
    size_t done = 0;
    for (const Range& r : batch) {
      if (done + r.into.size() > static_cast<size_t>(got))
        return fail("read memory of pid {}: {} bytes at {:#x} are not mapped", pid_, r.into.size(), r.address);
      done += r.into.size();
    }
  }
  return {};
}

std::vector<bool> ProcessMemory::read_each(std::span<const Range> ranges) {
  std::vector<bool> ok(ranges.size(), false);
  std::vector<iovec> local, remote;
  size_t start = 0;
  while (start < ranges.size()) {
    auto batch = ranges.subspan(start, std::min<size_t>(IOV_MAX, ranges.size() - start));
    local.clear();
    remote.clear();
    for (const Range& r : batch) {
      local.push_back({r.into.data(), r.into.size()});
      remote.push_back({reinterpret_cast<void*>(r.address), r.into.size()});
    }
    ssize_t got = process_vm_readv(pid_, local.data(), local.size(), remote.data(), remote.size(), 0);
    if (got < 0 && errno != EFAULT) return ok;  // the process is gone, or not readable at all
    // A read stops at the first remote range that is not mapped whole
    // (EFAULT when that is the first): the ones before it are filled.
    size_t done = 0, i = 0;
    for (; got > 0 && i < batch.size() && done + batch[i].into.size() <= static_cast<size_t>(got); i++) {
      ok[start + i] = true;
      done += batch[i].into.size();
    }
    start += i;
    if (i < batch.size()) start++;  // the range that stopped it
  }
  return ok;
}

}  // namespace hotalloc::heapprof
