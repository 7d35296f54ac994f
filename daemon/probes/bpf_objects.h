// Owner of hotalloc's loaded BPF programs and maps (the bpftool skeleton).
// Loading, layout publication and attaching are separate steps, each
// returning a Result; links and fds are released by destructors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bpf/hotalloc.h"
#include "util/result.h"

struct hotalloc_bpf;
struct bpf_link;
struct bpf_program;

namespace hotalloc::probes {

// One attached uprobe. Detaches on destruction.
class Link {
 public:
  Link() = default;
  explicit Link(bpf_link* l) : link_(l) {}
  Link(Link&& o) noexcept : link_(std::exchange(o.link_, nullptr)) {}
  Link& operator=(Link&& o) noexcept;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link();
  explicit operator bool() const { return link_ != nullptr; }

 private:
  bpf_link* link_ = nullptr;
};

// A set of links that detach in the reverse of the order they were
// attached, however they go (cleared, destroyed, moved over, handed to a
// closer): a probe that completes what an earlier one started (growslice's
// allocation probe after its entry probe) never outlives it, so no
// allocation is counted without its growth.
class LinkStack {
 public:
  LinkStack() = default;
  LinkStack(LinkStack&&) noexcept = default;
  LinkStack& operator=(LinkStack&& o) noexcept {
    if (this != &o) {
      clear();
      links_ = std::move(o.links_);
    }
    return *this;
  }
  ~LinkStack() { clear(); }

  void push(Link link) { links_.push_back(std::move(link)); }
  bool empty() const { return links_.empty(); }
  void clear() {
    while (!links_.empty()) links_.pop_back();
  }
  // Every link, last attached first (for a closer that closes in order).
  std::vector<Link> take() {
    std::vector<Link> out;
    out.reserve(links_.size());
    while (!links_.empty()) {
      out.push_back(std::move(links_.back()));
      links_.pop_back();
    }
    return out;
  }

 private:
  std::vector<Link> links_;
};

// Kernel-side cost of one program, when BPF run-time stats are enabled.
struct ProgRunStats {
  uint64_t run_ns = 0;
  uint64_t run_count = 0;
};

class BpfObjects {
 public:
  // Opens and loads the embedded programs (verifier runs here).
  static Result<std::unique_ptr<BpfObjects>> load();
  ~BpfObjects();
  BpfObjects(const BpfObjects&) = delete;
  BpfObjects& operator=(const BpfObjects&) = delete;

  // Publishes one binary's struct layout under `id` (the cookie's layout id).
  Status set_layout(uint16_t id, const ha_layout& layout);

  // Attaches `probe`'s program at `file_offset` of `binary_path`. pid -1 means
  // every process that maps the binary (now and later).
  Result<Link> attach_uprobe(ha_probe probe, const std::string& binary_path, uint64_t file_offset,
                             int pid, uint64_t cookie);

  // Announces every exec on the host in the ring buffer (HA_EVENT_EXEC), for
  // --discover, while the link lives.
  Result<Link> attach_exec_tracepoint();

  // Turns on the kernel's per-program run-time accounting for as long as
  // this object lives (bpf_enable_stats); false when not permitted.
  bool enable_run_stats();
  ProgRunStats run_stats(ha_probe probe) const;

  int proc_counters_fd() const;
  int probe_stats_fd() const;
  int stats_fd() const;
  int events_fd() const;
  int map_stats_fd() const;  // LRU hash: ha_map_key -> ha_map_stats
  int hot_keys_fd() const;   // LRU hash: ha_hot_key_id -> ha_hot_key
  int slice_sites_fd() const;  // LRU hash: ha_slice_site_key -> ha_slice_site

 private:
  BpfObjects() = default;
  bpf_program* program(ha_probe probe) const;

  hotalloc_bpf* skel_ = nullptr;
  int stats_fd_ = -1;  // holds BPF_STATS_RUN_TIME on while open
};

const char* probe_name(ha_probe probe);  // the metrics' probe label

}  // namespace hotalloc::probes
