// The single owner of hotalloc's state. The tracer reports what it placed
// and what the probes counted; the model keeps per-target totals that stay
// monotonic across process exits and publishes immutable snapshots for the
// exporter and the socket API. Mutated from the daemon's event loop only;
// latest() may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace hotalloc::model {

// What the tracer knows about a target, without its counts.
struct TargetInfo {
  uint32_t id = 0;
  std::string name;
  std::string spec;
  TargetState state = TargetState::attaching;
  std::string error;
  std::string error_reason;
  std::string exe;
  std::string go_version;
  std::vector<ProbeSite> probes;
};

class Model {
 public:
  explicit Model(DaemonInfo daemon);

  void set_target(TargetInfo info);
  void set_daemon(DaemonInfo daemon);

  // A process of `target` is traced. start_time identifies it along with pid.
  void process_started(uint32_t target, int pid, uint64_t start_time);
  // The Kubernetes container of a traced process, when it runs in one.
  void process_workload(int pid, Workload workload);
  // Cumulative counts of a live process since its probes first fired.
  void process_counts(uint32_t target, int pid, const AllocCounts& cumulative);
  // The process is gone; its last reported counts stay in its target's totals.
  void process_exited(int pid);
  // The latest read of a live process's sampled heap profile.
  void process_heap(int pid, heapprof::ProcessHeapPtr heap);
  bool has_process(int pid) const { return processes_.contains(pid); }

  void set_tracer_health(std::vector<ProbeHealth> probes, std::map<std::string, uint64_t> drops,
                         std::map<std::string, uint64_t> events);
  void count_attach_error(const std::string& reason);
  void set_socket_requests(std::map<std::pair<std::string, std::string>, uint64_t> counts);
  void set_ready(bool ready) { ready_ = ready; }

  // Go maps: fed by the collector, published with every snapshot.
  MapModel& maps() { return maps_; }
  // Slice growth per append site: fed by the collector, published with every snapshot.
  SliceModel& slices() { return slices_; }

  // Builds a snapshot of the current state and makes it the latest.
  SnapshotPtr publish(int64_t now_unix_ms);
  SnapshotPtr latest() const;

 private:
  struct Process {
    uint32_t target = 0;
    uint64_t start_time = 0;
    Workload workload;
    AllocCounts counts;
    heapprof::ProcessHeapPtr heap;
  };
  struct Target {
    TargetInfo info;
    AllocCounts retired;  // processes that exited
    uint64_t processes_seen = 0;
  };

  DaemonInfo daemon_;
  std::map<uint32_t, Target> targets_;
  std::map<int, Process> processes_;
  std::vector<ProbeHealth> probe_health_;
  std::map<std::string, uint64_t> drops_;
  std::map<std::string, uint64_t> events_;
  std::map<std::string, uint64_t> attach_errors_;
  std::map<std::pair<std::string, std::string>, uint64_t> socket_requests_;
  bool ready_ = false;
  MapModel maps_;
  SliceModel slices_;
  uint64_t generation_ = 0;

  mutable std::mutex latest_mu_;
  SnapshotPtr latest_;
};

}  // namespace hotalloc::model
