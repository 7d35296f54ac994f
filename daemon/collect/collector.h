// Reads what the BPF programs counted: per-process counters and tracer
// statistics from the maps (polled), rare events from the ring buffer
// (drained when its fd is readable). Userspace never re-counts: it sums the
// per-CPU values and hands cumulative numbers to the model.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collect/map_reader.h"
#include "collect/slice_reader.h"
#include "model/model.h"
#include "probes/bpf_objects.h"
#include "util/result.h"

struct ring_buffer;

namespace hotalloc::collect {

// Receives ring-buffer events the collector does not handle itself.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // The first probe hit of a process: the tracer identifies and watches it.
  virtual void on_process_seen(int pid, uint32_t target_id) = 0;
  // A process called exec (only while the exec tracepoint is attached).
  virtual void on_exec(int pid) = 0;
};

class Collector {
 public:
  // `binaries`, `symbolizers`: the daemon's open binaries and their
  // symbolizers, where the map and slice readers find sites and types.
  static Result<std::unique_ptr<Collector>> create(probes::BpfObjects& bpf, model::Model& model,
                                                   target::BinaryCache& binaries,
                                                   heapprof::SymbolizerCache& symbolizers, EventHandler& handler);
  ~Collector();

  // Reads every traced process's counters and the tracer's own statistics
  // into the model.
  void poll();

  // Final read of an exited process, then frees its slot in the kernel map.
  void retire_process(int pid);

  // The ring buffer's epoll fd, and draining it without blocking.
  int events_fd() const;
  void drain_events();

 private:
  Collector(probes::BpfObjects& bpf, model::Model& model, EventHandler& handler);
  static int on_event(void* ctx, void* data, size_t size);
  bool read_process(int pid, model::AllocCounts& out, uint32_t& target_id);
  void read_tracer_health();
  // A counter of the stats array, summed over the CPUs.
  uint64_t stat_total(ha_stat stat) const;

  probes::BpfObjects& bpf_;
  model::Model& model_;
  EventHandler& handler_;
  ring_buffer* ring_ = nullptr;
  int ncpus_ = 1;
  std::vector<uint8_t> percpu_buf_;
  std::map<std::string, uint64_t> events_;
  std::unique_ptr<MapReader> maps_;
  std::unique_ptr<SliceReader> slices_;  // uses maps_'s process symbols
};

}  // namespace hotalloc::collect
