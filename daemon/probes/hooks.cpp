#include "probes/hooks.h"

#include "util/log.h"

namespace hotalloc::probes {
namespace {

CpuArch cpu_arch(target::Arch a) {
  return a == target::Arch::arm64 ? CpuArch::arm64 : CpuArch::x86_64;
}

}  // namespace

Result<ProbePlan> plan_probes(const target::GoBinary& binary) {
  auto log = logging::get("probes");
  ProbePlan plan;
  for (const HookSpec& hook : kHooks) {
    auto fn = binary.function(hook.symbol);
    if (!fn) {
      if (hook.required) return fail("{} not found in {}", hook.symbol, binary.elf().path());
      log->debug("{}: optional {} not present", binary.elf().path(), hook.symbol);
      continue;
    }
    auto site = place_probe(cpu_arch(binary.elf().arch()), fn->code, fn->address);
    if (!site) {
      if (hook.required) return fail(site.error().context(fmt::format("place probe on {}", hook.symbol)));
      log->warn("{}: cannot place {}: {}", binary.elf().path(), hook.symbol, site.error().message);
      continue;
    }
    if (site->placement == Placement::entry)
      log->warn("{}: {} probed at its entry (single-stepped, slower): {}", binary.elf().path(), hook.symbol,
                site->note);
    PlannedProbe p;
    p.probe = hook.probe;
    p.symbol = std::string(hook.symbol);
    p.function_address = fn->address;
    p.function_file_offset = fn->file_offset;
    p.attach_offset = fn->file_offset + site->offset;
    p.site = std::move(*site);
    plan.probes.push_back(std::move(p));
  }
  return plan;
}

ha_layout to_bpf_layout(const target::RuntimeLayout& l) {
  ha_layout b{};
  b.valid = 1;
  b.mcache_alloc = l.mcache_alloc;
  b.mcache_tiny_allocs = l.mcache_tiny_allocs;
  b.mspan_nelems = l.mspan_nelems;
  b.mspan_nelems_size = l.mspan_nelems_size;
  b.mspan_alloc_count = l.mspan_alloc_count;
  b.mspan_alloc_count_before_cache = l.mspan_alloc_count_before_cache;
  return b;
}

}  // namespace hotalloc::probes
