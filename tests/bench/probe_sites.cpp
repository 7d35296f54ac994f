// probe_sites BINARY SYMBOL: where hotalloc would put a uprobe on SYMBOL, and
// where a naive tracer would (the entry), as file offsets. Used by
// tools/bench.sh to measure the per-hit cost of both sites side by side.
#include <cstdio>

#include <fmt/format.h>

#include "probes/placement.h"
#include "target/go_binary.h"

int main(int argc, char** argv) {
  using namespace hotalloc;
  if (argc != 3) {
    fmt::print(stderr, "usage: probe_sites BINARY SYMBOL\n");
    return 2;
  }
  auto bin = target::GoBinary::open(argv[1]);
  if (!bin) {
    fmt::print(stderr, "probe_sites: {}\n", bin.error().message);
    return 1;
  }
  auto fn = (*bin)->function(argv[2]);
  if (!fn) {
    fmt::print(stderr, "probe_sites: {} not found in {}\n", argv[2], argv[1]);
    return 1;
  }
  auto arch = (*bin)->elf().arch() == target::Arch::arm64 ? probes::CpuArch::arm64 : probes::CpuArch::x86_64;
  auto site = probes::place_probe(arch, fn->code, fn->address);
  if (!site) {
    fmt::print(stderr, "probe_sites: {}\n", site.error().message);
    return 1;
  }
  fmt::print("entry={:#x} site={:#x} placement={} instruction=\"{}\"\n", fn->file_offset,
             fn->file_offset + site->offset, probes::to_string(site->placement), site->instruction);
  return 0;
}
