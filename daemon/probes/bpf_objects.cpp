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

}  // namespace hotalloc::probes
