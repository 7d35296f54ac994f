#include "probes/bpf_objects.h"

#include <unistd.h>

#include <cerrno>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hotalloc.skel.h"

namespace hotalloc::probes {

Link& Link::operator=(Link&& o) noexcept {
  if (this != &o) {
    if (link_) bpf_link__destroy(link_);
    link_ = std::exchange(o.link_, nullptr);
  }
  return *this;
}

Link::~Link() {
  if (link_) bpf_link__destroy(link_);
}

const char* probe_name(ha_probe probe) {
  switch (probe) {
    case HA_PROBE_REFILL: return "refill";
    case HA_PROBE_RELEASE_ALL: return "release_all";
    case HA_PROBE_ALLOC_LARGE: return "alloc_large";
    case HA_PROBE_MAKEMAP: return "makemap";
    case HA_PROBE_HASH_GROW: return "hash_grow";
    case HA_PROBE_EVACUATE: return "evacuate";
    case HA_PROBE_GROW_TO_SMALL: return "grow_to_small";
    case HA_PROBE_GROW_TO_TABLE: return "grow_to_table";
    case HA_PROBE_TABLE_GROW: return "table_grow";
    case HA_PROBE_TABLE_SPLIT: return "table_split";
    case HA_PROBE_GROWTH_RET: return "growth_ret";
    case HA_PROBE_NEWARRAY: return "newarray";
    case HA_PROBE_GC_START: return "gc_start";
    case HA_PROBE_GC_MARK_TERMINATION: return "gc_mark_termination";
    case HA_PROBE_MAPASSIGN: return "mapassign";
    case HA_PROBE_MAPASSIGN_FAST32: return "mapassign_fast32";
    case HA_PROBE_MAPASSIGN_FAST64: return "mapassign_fast64";
    case HA_PROBE_MAPASSIGN_FAST64PTR: return "mapassign_fast64ptr";
    case HA_PROBE_MAPASSIGN_FASTSTR: return "mapassign_faststr";
    case HA_PROBE_GROWSLICE: return "growslice";
    case HA_PROBE_GROWSLICE_GO119: return "growslice_go119";
    case HA_PROBE_GROWSLICE_ALLOC: return "growslice_alloc";
    case HA_PROBE__COUNT: break;
  }
  return "unknown";
}

Result<std::unique_ptr<BpfObjects>> BpfObjects::load() {
  std::unique_ptr<BpfObjects> self(new BpfObjects());
  self->skel_ = hotalloc_bpf__open();
  if (!self->skel_) return fail_errno(errno, "open BPF skeleton");
  if (int err = hotalloc_bpf__load(self->skel_); err) {
    return fail_errno(-err,
                      "load BPF programs (needs root, or CAP_BPF+CAP_PERFMON+CAP_SYS_ADMIN, "
                      "and a kernel with BTF)");
  }
  return self;
}

BpfObjects::~BpfObjects() {
  if (stats_fd_ >= 0) close(stats_fd_);
  hotalloc_bpf__destroy(skel_);
}

Status BpfObjects::set_layout(uint16_t id, const ha_layout& layout) {
  uint32_t key = id;
  if (key >= HA_MAX_LAYOUTS) return fail("layout id {} out of range (max {})", id, HA_MAX_LAYOUTS);
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.layouts), &key, &layout, BPF_ANY))
    return fail_errno(errno, "write layout to BPF map");
  return {};
}

bpf_program* BpfObjects::program(ha_probe probe) const {
  switch (probe) {
    case HA_PROBE_REFILL: return skel_->progs.mcache_refill;
    case HA_PROBE_RELEASE_ALL: return skel_->progs.mcache_release_all;
    case HA_PROBE_ALLOC_LARGE: return skel_->progs.mcache_alloc_large;
    case HA_PROBE_MAKEMAP: return skel_->progs.map_created;
    case HA_PROBE_HASH_GROW: return skel_->progs.classic_hash_grow;
    case HA_PROBE_EVACUATE: return skel_->progs.classic_evacuate;
    case HA_PROBE_GROW_TO_SMALL: return skel_->progs.swiss_grow_to_small;
    case HA_PROBE_GROW_TO_TABLE: return skel_->progs.swiss_grow_to_table;
    case HA_PROBE_TABLE_GROW: return skel_->progs.swiss_table_grow;
    case HA_PROBE_TABLE_SPLIT: return skel_->progs.swiss_table_split;
    case HA_PROBE_GROWTH_RET: return skel_->progs.swiss_growth_ret;
    case HA_PROBE_NEWARRAY: return skel_->progs.map_newarray;
    case HA_PROBE_GC_START: return skel_->progs.gc_start;
    case HA_PROBE_GC_MARK_TERMINATION: return skel_->progs.gc_mark_termination;
    case HA_PROBE_MAPASSIGN: return skel_->progs.map_assign;
    case HA_PROBE_MAPASSIGN_FAST32: return skel_->progs.map_assign_fast32;
    case HA_PROBE_MAPASSIGN_FAST64: return skel_->progs.map_assign_fast64;
    case HA_PROBE_MAPASSIGN_FAST64PTR: return skel_->progs.map_assign_fast64ptr;
    case HA_PROBE_MAPASSIGN_FASTSTR: return skel_->progs.map_assign_faststr;
    case HA_PROBE_GROWSLICE: return skel_->progs.slice_growslice;
    case HA_PROBE_GROWSLICE_GO119: return skel_->progs.slice_growslice_go119;
    case HA_PROBE_GROWSLICE_ALLOC: return skel_->progs.slice_growslice_alloc;
    case HA_PROBE__COUNT: break;
  }
  return nullptr;
}

Result<Link> BpfObjects::attach_uprobe(ha_probe probe, const std::string& binary_path,
                                       uint64_t file_offset, int pid, uint64_t cookie) {
  bpf_program* prog = program(probe);
  if (!prog) return fail("no BPF program for probe {}", static_cast<int>(probe));
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie, .retprobe = false);
  bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid, binary_path.c_str(), file_offset, &opts);
  if (!link) {
    int err = errno;
    return fail_errno(err, fmt::format("attach uprobe {} at {}+{:#x}", probe_name(probe), binary_path, file_offset));
  }
  return Link(link);
}

Result<Link> BpfObjects::attach_exec_tracepoint() {
  bpf_link* link = bpf_program__attach(skel_->progs.proc_exec);
  if (!link) return fail_errno(errno, "attach raw tracepoint sched_process_exec");
  return Link(link);
}

bool BpfObjects::enable_run_stats() {
  if (stats_fd_ >= 0) return true;
  stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
  return stats_fd_ >= 0;
}

ProgRunStats BpfObjects::run_stats(ha_probe probe) const {
  bpf_program* prog = program(probe);
  if (!prog) return {};
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) return {};
  return {info.run_time_ns, info.run_cnt};
}

int BpfObjects::proc_counters_fd() const { return bpf_map__fd(skel_->maps.proc_counters); }
int BpfObjects::probe_stats_fd() const { return bpf_map__fd(skel_->maps.probe_stats); }
int BpfObjects::stats_fd() const { return bpf_map__fd(skel_->maps.stats); }
int BpfObjects::events_fd() const { return bpf_map__fd(skel_->maps.events); }
int BpfObjects::map_stats_fd() const { return bpf_map__fd(skel_->maps.map_stats); }
int BpfObjects::hot_keys_fd() const { return bpf_map__fd(skel_->maps.hot_keys); }
int BpfObjects::slice_sites_fd() const { return bpf_map__fd(skel_->maps.slice_sites); }

}  // namespace hotalloc::probes
