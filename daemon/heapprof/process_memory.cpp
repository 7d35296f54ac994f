#include "heapprof/process_memory.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

namespace hotalloc::heapprof {

namespace {

// Up to IOV_MAX ranges from the front of `ranges` in one process_vm_readv:
// how many of them were filled whole (a read stops at the first remote range
// that is not mapped whole), or minus errno when not even the first was
// (EFAULT: it is not mapped; ESRCH: the process is gone).
ssize_t read_front(pid_t pid, std::span<const Range> ranges) {
  auto batch = ranges.first(std::min<size_t>(IOV_MAX, ranges.size()));
  std::vector<iovec> local, remote;
  local.reserve(batch.size());
  remote.reserve(batch.size());
  for (const Range& r : batch) {
    local.push_back({r.into.data(), r.into.size()});
    remote.push_back({reinterpret_cast<void*>(r.address), r.into.size()});
  }
  ssize_t got = process_vm_readv(pid, local.data(), local.size(), remote.data(), remote.size(), 0);
  if (got < 0) return -errno;
  size_t done = 0, filled = 0;
  for (; filled < batch.size() && done + batch[filled].into.size() <= static_cast<size_t>(got); filled++)
    done += batch[filled].into.size();
  return static_cast<ssize_t>(filled);
}

}  // namespace

Status ProcessMemory::read(std::span<const Range> ranges) {
  while (!ranges.empty()) {
    const size_t batch = std::min<size_t>(IOV_MAX, ranges.size());
    ssize_t filled = read_front(pid_, ranges);
    if (filled < 0 && filled != -EFAULT) return fail_errno(int(-filled), fmt::format("read memory of pid {}", pid_));
    size_t n = filled < 0 ? 0 : static_cast<size_t>(filled);
    if (n < batch)
      return fail("read memory of pid {}: {} bytes at {:#x} are not mapped", pid_, ranges[n].into.size(),
                  ranges[n].address);
    ranges = ranges.subspan(n);
  }
  return {};
}

std::vector<bool> ProcessMemory::read_each(std::span<const Range> ranges) {
  std::vector<bool> ok(ranges.size(), false);
  size_t start = 0;
  while (start < ranges.size()) {
    const size_t batch = std::min<size_t>(IOV_MAX, ranges.size() - start);
    ssize_t filled = read_front(pid_, ranges.subspan(start));
    if (filled < 0 && filled != -EFAULT) break;  // the process is gone, or not readable at all
    size_t n = filled < 0 ? 0 : static_cast<size_t>(filled);
    std::fill_n(ok.begin() + static_cast<ptrdiff_t>(start), n, true);
    start += n;
    if (n < batch) start++;  // the range that stopped the read
  }
  return ok;
}

}  // namespace hotalloc::heapprof
