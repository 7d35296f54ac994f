#include "probes/hooks.h"

#include "util/log.h"

namespace hotalloc::probes {
namespace {

CpuArch cpu_arch(target::Arch a) {
  return a == target::Arch::arm64 ? CpuArch::arm64 : CpuArch::x86_64;
}

// Where a new map's hash seed comes from: runtime.rand (Go 1.22, 1.23),
// reached as internal/runtime/maps.rand from 1.24 on. Up to 1.21 fastrand
// is inlined into the map constructors, leaving no call to probe; the swiss
// makemap leaves the seeding to maps.NewMap, so its own code has none.
constexpr std::string_view kMapSeedSources[] = {"runtime.rand", "internal/runtime/maps.rand"};

// Where `hook`'s probes go in its function `fn`.
Result<std::vector<Site>> hook_sites(const HookSpec& hook, const target::GoBinary& binary,
                                     const target::FunctionInfo& fn) {
  CpuArch arch = cpu_arch(binary.elf().arch());
  switch (hook.site) {
    case HookSite::returns:
      return return_sites(arch, fn.code, fn.address);
    case HookSite::calls: {
      auto callee = binary.function(hook.callee);
      if (!callee) return fail("{} not found", hook.callee);
      return call_sites(arch, fn.code, fn.address, callee->address);
    }
    case HookSite::map_seed_call: {
      std::vector<uint64_t> sources;
      for (std::string_view name : kMapSeedSources)
        if (auto source = binary.function(name)) sources.push_back(source->address);
      std::string why = "the binary has no hash-seed function (Go 1.21 and older inline fastrand)";
      if (!sources.empty()) {
        auto site = pointer_across_call_site(arch, fn.code, fn.address, sources);
        if (site) return std::vector<Site>{std::move(*site)};
        why = "no hash-seed call to probe: " + site.error().message;
      }
      auto rets = return_sites(arch, fn.code, fn.address);
      if (rets)
        for (Site& ret : *rets) ret.note = why;
      return rets;
    }
    case HookSite::prologue:
      break;
  }
  auto site = place_probe(arch, fn.code, fn.address);
  if (!site) return fail(site.error());
  return std::vector<Site>{std::move(*site)};
}

}  // namespace

Result<ProbePlan> plan_probes(const target::GoBinary& binary) {
  auto log = logging::get("probes");
  ProbePlan plan;
  const target::GoVersion& go = binary.go_version();
  for (const HookSpec& hook : kHooks) {
    if ((hook.min_go_minor && !go.at_least(1, hook.min_go_minor)) ||
        (hook.max_go_minor && go.at_least(1, hook.max_go_minor + 1)))
      continue;
    auto fn = binary.function(hook.symbol);
    if (!fn) {
      if (hook.required) return fail("{} not found in {}", hook.symbol, binary.elf().path());
      log->debug("{}: optional {} not present", binary.elf().path(), hook.symbol);
      continue;
    }
    auto sites = hook_sites(hook, binary, *fn);
    if (!sites) {
      if (hook.required) return fail(sites.error().context(fmt::format("place probe on {}", hook.symbol)));
      log->warn("{}: cannot place {}: {}", binary.elf().path(), hook.symbol, sites.error().message);
      continue;
    }
    for (Site& site : *sites) {
      if (site.placement == Placement::entry)
        log->warn("{}: {} probed at its entry (single-stepped, slower): {}", binary.elf().path(), hook.symbol,
                  site.note);
      PlannedProbe p;
      p.probe = hook.probe;
      p.tier = hook.tier;
      p.symbol = std::string(hook.symbol);
      p.function_address = fn->address;
      p.function_file_offset = fn->file_offset;
      p.attach_offset = fn->file_offset + site.offset;
      p.site = std::move(site);
      plan.probes.push_back(std::move(p));
    }
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
  b.g_stack_lo = l.g_stack_lo;
  b.g_stack_hi = l.g_stack_hi;
  b.type_size = l.type_size;
  b.maptype_key = l.maptype_key;
  if (l.swiss_maps) {
    b.swiss_table_capacity = l.swiss_table_capacity;
  } else {
    b.hmap_count = l.hmap_count;
    b.hmap_flags = l.hmap_flags;
    b.hmap_b = l.hmap_b;
    b.hmap_oldbuckets = l.hmap_oldbuckets;
    b.hmap_nevacuate = l.hmap_nevacuate;
    b.maptype_bucketsize = l.maptype_bucketsize;
    b.hmap_load_factor_num = l.hmap_load_factor_num;
  }
  return b;
}

}  // namespace hotalloc::probes
