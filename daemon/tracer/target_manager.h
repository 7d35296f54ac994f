// Which processes are traced, and the probes that trace them.
//
// A target is a name (the metrics' `target` label) with the specs that
// select its processes. Binaries are opened once per inode: their Go
// version, struct layout and probe plan are shared by every process that
// runs them. --exe targets attach to the binary for all processes, so a new
// process is counted from its first allocation; --pid targets attach with a
// pid filter. A process is covered by at most one attachment, or it would be
// counted twice. Exits are noticed through pidfds; the exited process's
// final counts are folded into its target before its kernel slot is freed.
// A config reload removes specs: only their own attachments go, every other
// probe stays attached. When BPF's layout slots run out, binaries no
// attachment or process uses any more are forgotten and their slots reused.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "collect/heap_collector.h"
#include "model/model.h"
#include "probes/bpf_objects.h"
#include "probes/hooks.h"
#include "target/binary_cache.h"
#include "target/go_binary.h"
#include "target/procfs.h"
#include "tracer/link_closer.h"
#include "tracer/target_spec.h"

namespace hotalloc::tracer {

class TargetManager final {
 public:
  TargetManager(probes::BpfObjects& bpf, model::Model& model, target::BinaryCache& binaries, target::ProcFs procfs);
  ~TargetManager();
  TargetManager(const TargetManager&) = delete;
  TargetManager& operator=(const TargetManager&) = delete;

  void set_collector(collect::Collector* c) { collector_ = c; }
  // Each traced process's heap profile is read from then on.
  void set_heap_collector(collect::HeapCollector* h) { heap_ = h; }

  // Starts tracing what `spec` selects. A failure (no such process, not a Go
  // binary, an unsupported version...) is recorded on the target and logged;
  // the daemon goes on with its other targets. False on such a failure; a
  // discovered process that is gone meanwhile is ignored, not a failure.
  bool add(const TargetSpec& spec);

  // Stops tracing what `spec` selected: its attachments are detached and the
  // processes no other attachment covers are retired (their counts stay in
  // their target). A target left with no spec is `detached`.
  void remove(const TargetSpec& spec);
  // The discovered processes being traced.
  std::vector<int> discovered_pids() const;

  // An fd that becomes readable when a traced process exits.
  int exit_fd() const { return epfd_; }
  // Retires every process that has exited.
  void handle_exits();

  // A traced binary's new process made its first allocation.
  void on_process_seen(int pid, uint32_t target_id);

  bool any_attached() const;

  // Attaches (on) or detaches (off) the map-insert tier in every traced
  // binary, leaving the always-on probes alone; new attachments follow.
  Status set_insert_probes(bool on);

 private:
  using BinaryKey = target::FileId;
  struct Binary {
    std::shared_ptr<const target::GoBinary> go;
    uint16_t layout_id = 0;
    probes::ProbePlan plan;
  };
  struct Attachment {
    std::string spec;  // TargetSpec::text() of the spec that asked for it
    uint32_t target = 0;
    BinaryKey binary;
    int pid = -1;  // -1: every process of the binary
    std::string path;  // what the links attach to
    probes::LinkStack links;
    probes::LinkStack insert_links;  // the insert tier, while it is on (attached after `links`, so declared after)
  };
  struct Process {
    uint32_t target = 0;
    BinaryKey binary;
    uint64_t start_time = 0;
    int pidfd = -1;
  };
  struct Target {
    model::TargetInfo info;
    std::vector<TargetSpec> specs;
  };

  Target& target_named(const std::string& name);
  Target& failed_target(const TargetSpec& spec, const std::string& name, const std::string& reason,
                        const Error& err);
  Result<BinaryKey> load_binary(const std::string& path);
  Status attach(Target& t, const BinaryKey& key, const std::string& path, int pid, const std::string& spec);
  bool add_process(const TargetSpec& spec);
  void add_spec(Target& t, const TargetSpec& spec);
  void untrack(int pid);
  void track_process(uint32_t target, const target::ProcessIdentity& id);
  void publish(Target& t);
  const Attachment* covering_attachment(const BinaryKey& key, int pid) const;
  Status attach_tier(Attachment& a, probes::Tier tier, probes::LinkStack& out);
  // Hands `a`'s links, which can no longer fire (its process exited or runs
  // another program), to the closer thread. Links that may still fire are
  // closed on the loop, before their process is retired: a hit after that
  // would give it a kernel slot again.
  void retire_links(Attachment& a);
  void mark_insert_probes(Target& t);
  // Drops the binaries no attachment or process uses.
  void forget_unused_binaries();

  probes::BpfObjects& bpf_;
  model::Model& model_;
  target::BinaryCache& cache_;
  target::ProcFs procfs_;
  collect::Collector* collector_ = nullptr;
  collect::HeapCollector* heap_ = nullptr;
  int epfd_ = -1;

  std::map<uint32_t, Target> targets_;  // ids start at 1 (0 means "unknown" in BPF)
  std::map<BinaryKey, Binary> binaries_;
  std::vector<Attachment> attachments_;
  std::map<int, Process> processes_;
  bool inserts_on_ = false;
  LinkCloser closer_;  // declared last, destroyed first: closes what it holds while the rest is there
};

}  // namespace hotalloc::tracer
