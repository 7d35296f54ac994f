#include "model/model.h"

namespace hotalloc::model {

Model::Model(DaemonInfo daemon) : daemon_(std::move(daemon)), latest_(std::make_shared<Snapshot>()) {}

void Model::set_target(TargetInfo info) {
  auto& t = targets_[info.id];
  t.info = std::move(info);
}

void Model::set_daemon(DaemonInfo daemon) { daemon_ = std::move(daemon); }

void Model::process_started(uint32_t target, int pid, uint64_t start_time) {
  auto [it, inserted] = processes_.try_emplace(pid);
  if (!inserted && it->second.start_time == start_time) return;
  if (!inserted && it->second.start_time == 0) {
    // Counted before the tracer identified it: the same process, now named.
    it->second.start_time = start_time;
    return;
  }
  if (!inserted) process_exited(pid);  // a reused pid: the old process is gone
  Process& p = processes_[pid];
  p.target = target;
  p.start_time = start_time;
  targets_[target].processes_seen++;
}

void Model::process_workload(int pid, Workload workload) {
  if (auto it = processes_.find(pid); it != processes_.end()) it->second.workload = std::move(workload);
}

void Model::process_counts(uint32_t target, int pid, const AllocCounts& cumulative) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) {
    // Counted before the tracer identified it (first allocation of a new
    // process of a traced executable); its start time follows.
    process_started(target, pid, 0);
    it = processes_.find(pid);
  }
  it->second.counts = cumulative;
}

void Model::process_exited(int pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  targets_[it->second.target].retired += it->second.counts;
  processes_.erase(it);
  maps_.process_exited(pid);
  slices_.process_exited(pid);
}

void Model::process_heap(int pid, heapprof::ProcessHeapPtr heap) {
  if (auto it = processes_.find(pid); it != processes_.end()) it->second.heap = std::move(heap);
}

void Model::set_tracer_health(std::vector<ProbeHealth> probes, std::map<std::string, uint64_t> drops,
                              std::map<std::string, uint64_t> events) {
  probe_health_ = std::move(probes);
  drops_ = std::move(drops);
  events_ = std::move(events);
}

void Model::count_attach_error(const std::string& reason) { attach_errors_[reason]++; }

void Model::set_socket_requests(std::map<std::pair<std::string, std::string>, uint64_t> counts) {
  socket_requests_ = std::move(counts);
}

SnapshotPtr Model::publish(int64_t now_unix_ms) {
  auto s = std::make_shared<Snapshot>();
  s->generation = ++generation_;
  s->taken_unix_ms = now_unix_ms;
  s->ready = ready_;
  for (const auto& [id, t] : targets_) {
    TargetView v;
    v.id = id;
    v.name = t.info.name;
    v.spec = t.info.spec;
    v.state = t.info.state;
    v.error = t.info.error;
    v.error_reason = t.info.error_reason;
    v.exe = t.info.exe;
    v.go_version = t.info.go_version;
    v.probes = t.info.probes;
    v.processes_seen = t.processes_seen;
    v.alloc = t.retired;
    for (const auto& [pid, p] : processes_) {
      if (p.target != id) continue;
      v.processes.push_back(ProcessInfo{pid, p.start_time, true, p.workload});
      v.alloc += p.counts;
      if (p.heap) v.heap.push_back(p.heap);
    }
    uint64_t refills = 0;
    for (uint64_t n : v.alloc.refills) refills += n;
    maps_.refills(id, refills, now_unix_ms);
    s->targets.push_back(std::move(v));
  }
  s->probes = probe_health_;
  for (auto& h : s->probes) {
    h.attached = 0;
    for (const auto& t : s->targets)
      for (const auto& site : t.probes)
        if (site.attached && site.probe == h.probe) h.attached++;
  }
  s->drops = drops_;
  s->events = events_;
  s->attach_errors = attach_errors_;
  s->socket_requests = socket_requests_;
  s->daemon = daemon_;
  s->maps = maps_.publish(now_unix_ms);
  s->slices = slices_.publish();
  // Entries the kernel's LRU tables evicted: what they counted since the
  // daemon's last read of them is lost.
  s->drops["map_evicted"] = s->maps->kernel_map_evictions;
  s->drops["hot_key_evicted"] = s->maps->kernel_key_evictions;
  s->drops["slice_site_evicted"] = s->slices->kernel_evictions;
  std::lock_guard lock(latest_mu_);
  latest_ = s;
  return s;
}

SnapshotPtr Model::latest() const {
  std::lock_guard lock(latest_mu_);
  return latest_;
}

}  // namespace hotalloc::model
