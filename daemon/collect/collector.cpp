#include "collect/collector.h"

#include <cerrno>
#include <cstring>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util/log.h"

namespace hotalloc::collect {
namespace {

// Per-CPU map values are laid out at 8-byte strides.
constexpr size_t round8(size_t n) { return (n + 7) & ~size_t{7}; }

const char* stat_reason(int id) {
  switch (id) {
    case HA_STAT_DROP_RINGBUF_FULL: return "ringbuf_full";
    case HA_STAT_DROP_PROC_TABLE_FULL: return "map_full";
    case HA_STAT_READ_FAULT: return "read_fault";
    case HA_STAT_NO_LAYOUT: return "no_layout";
    case HA_STAT_DROP_MAP_TABLE_FULL: return "map_table_full";
    case HA_STAT_DROP_HOT_KEY_TABLE_FULL: return "hot_key_table_full";
    case HA_STAT_DROP_WINDOW_TABLE_FULL: return "growth_window_table_full";
    case HA_STAT_DROP_SLICE_TABLE_FULL: return "slice_table_full";
    case HA_STAT_SLICE_ALLOC_UNPAIRED: return "slice_alloc_unpaired";
    case HA_STAT_MAPS_ADDED:
    case HA_STAT_HOT_KEYS_ADDED:
    case HA_STAT_SLICE_SITES_ADDED: return nullptr;  // bookkeeping for the readers' EvictionCount, not drops
  }
  return "unknown";
}

}  // namespace

Collector::Collector(probes::BpfObjects& bpf, model::Model& model, EventHandler& handler)
    : bpf_(bpf), model_(model), handler_(handler) {}

Result<std::unique_ptr<Collector>> Collector::create(probes::BpfObjects& bpf, model::Model& model,
                                                     target::BinaryCache& binaries,
                                                     heapprof::SymbolizerCache& symbolizers, EventHandler& handler) {
  std::unique_ptr<Collector> c(new Collector(bpf, model, handler));
  c->ncpus_ = libbpf_num_possible_cpus();
  if (c->ncpus_ <= 0) return fail_errno(-c->ncpus_, "count possible CPUs");
  c->percpu_buf_.resize(round8(sizeof(ha_proc_counters)) * c->ncpus_);
  auto stat_total = [c = c.get()](ha_stat stat) { return c->stat_total(stat); };
  c->maps_ = std::make_unique<MapReader>(bpf.map_stats_fd(), bpf.hot_keys_fd(), stat_total, model.maps(),
                                         binaries, symbolizers, target::ProcFs());
  c->slices_ = std::make_unique<SliceReader>(bpf.slice_sites_fd(), stat_total, model.slices(),
                                             [maps = c->maps_.get()](int pid) { return maps->symbols(pid); });
  c->ring_ = ring_buffer__new(bpf.events_fd(), &Collector::on_event, c.get(), nullptr);
  if (!c->ring_) return fail_errno(errno, "create ring buffer reader");
  return c;
}

Collector::~Collector() { ring_buffer__free(ring_); }

int Collector::events_fd() const { return ring_buffer__epoll_fd(ring_); }

void Collector::drain_events() { ring_buffer__consume(ring_); }

int Collector::on_event(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Collector*>(ctx);
  if (size < sizeof(ha_event_header)) return 0;
  ha_event_header hdr;
  std::memcpy(&hdr, data, sizeof hdr);
  switch (hdr.kind) {
    case HA_EVENT_PROC_NEW: {
      if (size < sizeof(ha_event_proc_new)) return 0;
      ha_event_proc_new ev;
      std::memcpy(&ev, data, sizeof ev);
      self->events_["proc_new"]++;
      self->handler_.on_process_seen(static_cast<int>(ev.hdr.tgid), ev.target_id);
      break;
    }
    case HA_EVENT_EXEC:
      self->events_["exec"]++;
      self->handler_.on_exec(static_cast<int>(hdr.tgid));
      break;
    case HA_EVENT_MAP: {
      if (size < sizeof(ha_event_map)) return 0;
      ha_event_map_reused ev{};
      std::memcpy(&ev, data, std::min(size, sizeof ev));
      self->events_["map"]++;
      self->maps_->on_event(ev.ev, size >= sizeof ev ? &ev.stats : nullptr);
      break;
    }
    default:
      self->events_["unknown"]++;
  }
  return 0;
}

bool Collector::read_process(int pid, model::AllocCounts& out, uint32_t& target_id) {
  uint32_t key = static_cast<uint32_t>(pid);
  if (bpf_map_lookup_elem(bpf_.proc_counters_fd(), &key, percpu_buf_.data())) return false;
  out = {};
  target_id = 0;
  const size_t stride = round8(sizeof(ha_proc_counters));
  for (int cpu = 0; cpu < ncpus_; cpu++) {
    ha_proc_counters c;
    std::memcpy(&c, percpu_buf_.data() + stride * cpu, sizeof c);
    // Only the CPU that created the entry wrote its target id; ids start at 1.
    if (c.target_id) target_id = c.target_id;
    for (int i = 0; i < HA_NUM_SPAN_CLASSES; i++) {
      out.small_objects[i] += c.small_objects[i];
      out.refills[i] += c.refills[i];
    }
    out.large_objects += c.large_objects;
    out.large_bytes += c.large_bytes;
    out.tiny_objects += c.tiny_objects;
    out.flushes += c.flushes;
    out.gc_cycles += c.gc_cycles;
  }
  return true;
}

void Collector::poll() {
  drain_events();
  int fd = bpf_.proc_counters_fd();
  uint32_t key = 0, next = 0;
  uint32_t* prev = nullptr;
  std::vector<uint32_t> pids;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    pids.push_back(next);
    key = next;
    prev = &key;
  }
  for (uint32_t pid : pids) {
    model::AllocCounts counts;
    uint32_t target = 0;
    if (!read_process(static_cast<int>(pid), counts, target)) continue;
    model_.process_counts(target, static_cast<int>(pid), counts);
    // Normally a no-op; identifies (or retires) a process whose first-hit
    // event was dropped, so its kernel slot cannot leak.
    handler_.on_process_seen(static_cast<int>(pid), target);
  }
  maps_->poll();
  slices_->poll();
  read_tracer_health();
}

void Collector::retire_process(int pid) {
  model::AllocCounts counts;
  uint32_t target = 0;
  if (read_process(pid, counts, target)) {
    model_.process_counts(target, pid, counts);
    uint32_t key = static_cast<uint32_t>(pid);
    bpf_map_delete_elem(bpf_.proc_counters_fd(), &key);
  }
  slices_->process_exited(pid);
  maps_->process_exited(pid);
  model_.process_exited(pid);
}

void Collector::read_tracer_health() {
  std::vector<model::ProbeHealth> probes;
  std::vector<ha_probe_stats> ps(ncpus_);
  static_assert(sizeof(ha_probe_stats) % 8 == 0);
  for (int p = 0; p < HA_PROBE__COUNT; p++) {
    model::ProbeHealth h;
    h.probe = probes::probe_name(static_cast<ha_probe>(p));
    uint32_t key = p;
    if (bpf_map_lookup_elem(bpf_.probe_stats_fd(), &key, ps.data()) == 0) {
      for (const auto& s : ps) {
        h.hits += s.hits;
        h.morestack_skips += s.morestack_skips;
      }
    }
    auto run = bpf_.run_stats(static_cast<ha_probe>(p));
    h.run_seconds = static_cast<double>(run.run_ns) / 1e9;
    probes.push_back(std::move(h));
  }
  std::map<std::string, uint64_t> drops;
  for (int s = 0; s < HA_STAT__COUNT; s++)
    if (const char* reason = stat_reason(s)) drops[reason] = stat_total(static_cast<ha_stat>(s));
  model_.set_tracer_health(std::move(probes), std::move(drops), events_);
}

uint64_t Collector::stat_total(ha_stat stat) const {
  std::vector<uint64_t> vals(ncpus_);
  uint32_t key = stat;
  uint64_t total = 0;
  if (bpf_map_lookup_elem(bpf_.stats_fd(), &key, vals.data()) == 0)
    for (uint64_t v : vals) total += v;
  return total;
}

}  // namespace hotalloc::collect
