// An immutable view of everything the daemon knows, published by the model
// after each collection. The exporter and the socket API only ever read
// snapshots; the model is the single owner of the state behind them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "heapprof/process_heap.h"
#include "model/maps.h"
#include "model/size_classes.h"
#include "model/slices.h"

namespace hotalloc::model {

// Cumulative allocation counts, as the runtime books them (span accounting).
struct AllocCounts {
  std::array<uint64_t, kNumSpanClasses> small_objects{};  // by span class
  std::array<uint64_t, kNumSpanClasses> refills{};        // by span class
  uint64_t large_objects = 0;
  uint64_t large_bytes = 0;  // page-rounded, like runtime/metrics
  uint64_t tiny_objects = 0;
  uint64_t flushes = 0;  // mcache releaseAll calls
  uint64_t gc_cycles = 0;  // gcMarkTermination calls

  AllocCounts& operator+=(const AllocCounts& o);
  uint64_t small_objects_total() const;
  uint64_t small_bytes_total() const;
};

// One row per size class, scan and noscan spans summed (what users see).
struct SizeClassRow {
  uint32_t size_class = 0;   // runtime size class index, 1..67
  uint32_t object_size = 0;  // bytes per object: the metrics' size_class label
  uint64_t objects = 0;
  uint64_t bytes = 0;  // objects * object_size (slot bytes, as runtime/metrics)
  uint64_t refills = 0;
  uint64_t noscan_objects = 0;
};
std::vector<SizeClassRow> size_class_rows(const AllocCounts& c);  // only classes with activity

// Where and how one probe was placed in one binary.
struct ProbeSite {
  std::string probe;   // stable probe name, the metrics' probe label: "refill"
  std::string symbol;  // Go function: "runtime.(*mcache).refill"
  uint64_t function_address = 0;
  uint64_t site_offset = 0;  // bytes from the function's entry
  uint64_t file_offset = 0;  // where the uprobe is attached in the file
  std::string instruction;   // the probed instruction, disassembled
  std::string placement;     // probes::to_string(Placement): "stack_check_branch", "after_stack_check", "entry", "return", "call"
  bool emulated = false;     // the kernel emulates it (no single-step)
  bool attached = false;
  std::string error;  // why it is not attached
  bool on_demand = false;  // in the insert tier (--map-inserts): attached only while it is on
};

// The Kubernetes container a process runs in (tracer/workload.h); empty
// outside Kubernetes.
struct Workload {
  std::string namespace_name, pod, container;
  bool operator==(const Workload&) const = default;
};

struct ProcessInfo {
  int pid = 0;
  uint64_t start_time = 0;  // clock ticks since boot, /proc/PID/stat field 22
  bool alive = true;
  Workload workload;
};

// exited: a --pid target whose process is gone (its counts stay).
// detached: no longer asked for after a config reload (its counts stay).
enum class TargetState { attaching, attached, failed, exited, detached };
const char* to_string(TargetState s);

struct TargetView {
  uint32_t id = 0;
  std::string name;  // the metrics' target label
  std::string spec;  // how it was asked for: "pid:123" or "exe:/usr/bin/x"
  TargetState state = TargetState::attaching;
  std::string error;       // why it failed, when it did
  std::string error_reason;  // bounded reason for hotalloc_target_attach_errors_total
  std::string exe;         // path of the traced binary
  std::string go_version;  // "go1.26.11"
  std::vector<ProcessInfo> processes;  // live ones
  uint64_t processes_seen = 0;
  std::vector<ProbeSite> probes;
  AllocCounts alloc;  // all processes, living and exited
  // The sampled heap profile of each live process, as its runtime publishes it.
  std::vector<heapprof::ProcessHeapPtr> heap;
};

struct ProbeHealth {
  std::string probe;
  uint64_t hits = 0;
  uint64_t morestack_skips = 0;
  uint64_t attached = 0;  // links attached, over all targets
  double run_seconds = 0;  // kernel-side cost, when BPF stats are on
};

// Facts about the daemon itself, for `status` and the landing page.
struct DaemonInfo {
  std::string version;
  std::string revision;
  std::string libbpf_version;
  int pid = 0;
  int64_t started_unix_ms = 0;
  std::string http_address;  // where /metrics is served, once listening
  std::string socket_path;
  std::string map_inserts = "off";  // insert-probe tier mode
};

struct Snapshot {
  uint64_t generation = 0;  // bumps with every collection
  int64_t taken_unix_ms = 0;
  bool ready = false;  // BPF loaded and at least one target attached
  std::vector<TargetView> targets;
  std::vector<ProbeHealth> probes;
  std::map<std::string, uint64_t> events;         // handled ring-buffer events by kind
  std::map<std::string, uint64_t> drops;          // by reason; every drop counted
  std::map<std::string, uint64_t> attach_errors;  // by reason
  std::map<std::pair<std::string, std::string>, uint64_t> socket_requests;  // (method, code)
  DaemonInfo daemon;
  std::shared_ptr<const MapsSnapshot> maps;  // Go maps, hot keys, timeline
  std::shared_ptr<const SlicesSnapshot> slices;  // slice growth per append site
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace hotalloc::model
