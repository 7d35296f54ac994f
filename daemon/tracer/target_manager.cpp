#include "tracer/target_manager.h"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <set>
#include <utility>

#include "target/runtime_layout.h"
#include "tracer/discovery.h"
#include "tracer/workload.h"
#include "util/log.h"

namespace hotalloc::tracer {
namespace {

// Where the kubelet keeps its log directories on a node (the DaemonSet
// mounts them read-only at the same path).
constexpr const char* kKubeletLogRoot = "/var/log";

int pidfd_open(int pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::shared_ptr<spdlog::logger> log() { return logging::get("tracer"); }

}  // namespace

TargetManager::TargetManager(probes::BpfObjects& bpf, model::Model& model, target::BinaryCache& binaries,
                             target::ProcFs procfs)
    : bpf_(bpf), model_(model), cache_(binaries), procfs_(std::move(procfs)), epfd_(epoll_create1(EPOLL_CLOEXEC)) {}

TargetManager::~TargetManager() {
  for (auto& [pid, p] : processes_) close(p.pidfd);
  if (epfd_ >= 0) close(epfd_);
}

TargetManager::Target& TargetManager::target_named(const std::string& name) {
  for (auto& [id, t] : targets_)
    if (t.info.name == name) return t;
  uint32_t id = static_cast<uint32_t>(targets_.size()) + 1;
  Target& t = targets_[id];
  t.info.id = id;
  t.info.name = name;
  return t;
}

TargetManager::Target& TargetManager::failed_target(const TargetSpec& spec, const std::string& name,
                                                    const std::string& reason, const Error& err) {
  Target& t = target_named(name);
  add_spec(t, spec);
  bool attached = false;
  for (const auto& a : attachments_) attached |= a.target == t.info.id;
  if (!attached) {
    t.info.state = model::TargetState::failed;
    t.info.error = err.message;
    t.info.error_reason = reason;
  }
  model_.count_attach_error(reason);
  log()->error("cannot trace {}: {}", spec.text(), err.message);
  publish(t);
  return t;
}

void TargetManager::publish(Target& t) {
  std::string spec;
  for (const auto& s : t.specs) spec += (spec.empty() ? "" : ",") + s.text();
  t.info.spec = spec;
  model_.set_target(t.info);
}

Result<TargetManager::BinaryKey> TargetManager::load_binary(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return fail_errno(errno, "stat " + path);
  if (binaries_.contains(BinaryKey{st.st_dev, st.st_ino})) return BinaryKey{st.st_dev, st.st_ino};

  // The lowest layout slot no binary holds, before the binary is read.
  // Binaries stay loaded while unused (the next process of one is attached
  // without reading it again) until their slots are needed.
  if (binaries_.size() >= HA_MAX_LAYOUTS) forget_unused_binaries();
  std::set<uint16_t> taken;
  for (const auto& [k, b] : binaries_) taken.insert(b.layout_id);
  uint16_t layout_id = 0;
  while (taken.contains(layout_id)) layout_id++;
  if (layout_id >= HA_MAX_LAYOUTS) return fail("too many distinct binaries traced at once (max {})", HA_MAX_LAYOUTS);
  auto go = cache_.open(path);
  if (!go) return fail(go.error());
  // The file parsed, should the path have been replaced since the stat.
  const BinaryKey key = go->id;
  if (binaries_.contains(key)) return key;
  // GoBinary::open chose the layout: the version's table, checked against DWARF when there is DWARF.
  const target::LayoutChoice& layout = go->binary->layout();
  if (!layout.disagreement.empty())
    log()->warn("{}: Go {} runtime layout taken from DWARF, which disagrees with hotalloc's table: {}", path,
                go->binary->go_version().name(), layout.disagreement);
  else if (layout.source == target::LayoutSource::dwarf)
    log()->info("{}: Go {} has no layout table; using the offsets its DWARF describes", path,
                go->binary->go_version().name());
  auto plan = probes::plan_probes(*go->binary);
  if (!plan) return fail(plan.error());

  Binary b;
  b.go = go->binary;
  b.layout_id = layout_id;
  b.plan = std::move(*plan);
  if (auto st2 = bpf_.set_layout(b.layout_id, probes::to_bpf_layout(layout.layout)); !st2) return fail(st2.error());
  for (const auto& p : b.plan.probes)
    log()->debug("{}: {} at +{} ({}, {}) file offset {:#x}{}{}", path, p.symbol, p.site.offset,
                 probes::to_string(p.site.placement), p.site.instruction, p.attach_offset,
                 p.site.note.empty() ? "" : ": ", p.site.note);
  binaries_.emplace(key, std::move(b));
  return key;
}

const TargetManager::Attachment* TargetManager::covering_attachment(const BinaryKey& key, int pid) const {
  for (const auto& a : attachments_)
    if (a.binary == key && (a.pid == -1 || a.pid == pid)) return &a;
  return nullptr;
}

Status TargetManager::attach(Target& t, const BinaryKey& key, const std::string& path, int pid,
                             const std::string& spec) {
  const Binary& bin = binaries_.at(key);
  Attachment a;
  a.spec = spec;
  a.target = t.info.id;
  a.binary = key;
  a.pid = pid;
  a.path = path;
  if (auto st = attach_tier(a, probes::Tier::always, a.links); !st) return st;
  if (inserts_on_)
    if (auto st = attach_tier(a, probes::Tier::inserts, a.insert_links); !st) return st;
  // A whole-binary attachment supersedes pid-filtered ones on the same
  // binary: keeping both would count those processes twice.
  if (pid == -1)
    std::erase_if(attachments_, [&](const Attachment& o) { return o.binary == key && o.pid != -1; });
  attachments_.push_back(std::move(a));

  t.info.probes.clear();
  for (const auto& p : bin.plan.probes) {
    model::ProbeSite s;
    s.probe = probes::probe_name(p.probe);
    s.symbol = p.symbol;
    s.function_address = p.function_address;
    s.site_offset = p.site.offset;
    s.file_offset = p.attach_offset;
    s.instruction = p.site.instruction;
    s.placement = probes::to_string(p.site.placement);
    s.emulated = p.site.emulated;
    s.on_demand = p.tier == probes::Tier::inserts;
    s.attached = !s.on_demand || inserts_on_;
    t.info.probes.push_back(std::move(s));
  }
  t.info.state = model::TargetState::attached;
  t.info.error.clear();
  t.info.error_reason.clear();
  t.info.go_version = bin.go->go_version().text;
  return {};
}

bool TargetManager::add_process(const TargetSpec& spec) {
  const bool discovered = spec.kind == TargetSpec::Kind::discovered;
  auto id = procfs_.identity(spec.pid);
  if (!id) {
    if (discovered) {
      log()->debug("discovered pid {} is gone: {}", spec.pid, id.error().message);
      return true;
    }
    failed_target(spec, fmt::format("pid-{}", spec.pid), "no_process", id.error());
    return false;
  }
  // No executable: the process has exited and waits for its parent (a
  // zombie keeps its stat, not its exe), or it is a kernel thread.
  if (id->exe_path.empty()) {
    if (discovered) {
      log()->debug("discovered pid {} is gone: no executable", spec.pid);
      return true;
    }
    failed_target(spec, fmt::format("pid-{}", spec.pid), "no_process",
                  fail("pid {} has no executable (it exited, or is a kernel thread)", spec.pid).error());
    return false;
  }
  std::string name = target_name_for(id->exe_path);
  std::string path = procfs_.exe_link(spec.pid);
  // A process that exits while it is being attached (or execs another
  // program) is gone, not broken: its binary and uprobes fail for that reason alone.
  auto gone = [&] {
    auto now = procfs_.identity(spec.pid);
    return !now || now->exe_path.empty() || now->start_time != id->start_time || now->exe != id->exe;
  };
  auto key = load_binary(path);
  if (!key && discovered && gone()) {
    log()->debug("discovered pid {} exited while being attached: {}", spec.pid, key.error().message);
    return true;
  }
  if (!key) {
    failed_target(spec, name, "bad_binary", key.error().context(fmt::format("pid {}", spec.pid)));
    return false;
  }
  if (const Attachment* a = covering_attachment(*key, spec.pid)) {
    // Named once: a discovered process another spec already traces stays in its target.
    log()->log(discovered ? spdlog::level::debug : spdlog::level::info, "pid {} is already traced as target {}", spec.pid,
               targets_.at(a->target).info.name);
    if (!discovered) add_spec(targets_.at(a->target), spec);
    return true;
  }
  Target& t = target_named(name);
  add_spec(t, spec);
  if (auto st = attach(t, *key, path, spec.pid, spec.text()); !st) {
    if (discovered && gone()) {
      log()->debug("discovered pid {} exited while being attached: {}", spec.pid, st.error().message);
      return true;
    }
    failed_target(spec, t.info.name, "attach", st.error());
    return false;
  }
  t.info.exe = id->exe_path;
  publish(t);
  track_process(t.info.id, *id);
  log()->info("tracing pid {} ({}, {}) as target {}{}", spec.pid, id->exe_path, t.info.go_version, t.info.name,
              discovered ? " (discovered)" : "");
  return true;
}

bool TargetManager::add(const TargetSpec& spec) {
  if (spec.kind != TargetSpec::Kind::exe) return add_process(spec);

  std::string name = spec.name.empty() ? target_name_for(spec.path) : spec.name;
  Target& t = target_named(name);
  add_spec(t, spec);
  auto key = load_binary(spec.path);
  if (!key) {
    failed_target(spec, name, "bad_binary", key.error());
    return false;
  }
  if (auto st = attach(t, *key, spec.path, -1, spec.text()); !st) {
    failed_target(spec, name, "attach", st.error());
    return false;
  }
  t.info.exe = spec.path;
  publish(t);
  log()->info("tracing every process of {} ({}) as target {}", spec.path, t.info.go_version, name);
  // Processes already running the binary; new ones announce themselves
  // through their first probe hit.
  for (int pid : procfs_.pids()) {
    auto id = procfs_.identity(pid);
    if (id && id->exe == *key)
      track_process(t.info.id, *id);
  }
  return true;
}

void TargetManager::retire_links(Attachment& a) {
  std::vector<probes::Link> links = a.insert_links.take();  // attached last, closed first
  std::ranges::move(a.links.take(), std::back_inserter(links));
  closer_.close(std::move(links));
}

void TargetManager::remove(const TargetSpec& spec) {
  const std::string text = spec.text();
  const bool per_process = spec.kind != TargetSpec::Kind::exe;
  std::set<uint32_t> affected;
  bool whole_binary_gone = false;
  // Destroying the attachments detaches their links, and only theirs
  // (those retired first go to the closer thread).
  std::erase_if(attachments_, [&](Attachment& a) {
    if (a.spec != text || (per_process && a.pid != spec.pid)) return false;
    affected.insert(a.target);
    whole_binary_gone |= a.pid == -1;
    if (a.pid != -1) {
      // A pid-filtered attachment's links fire only while that process runs
      // this binary: after an exec of another one (or its exit) they cannot.
      auto id = procfs_.identity(a.pid);
      if (!id || id->exe != a.binary)
        retire_links(a);
    }
    return true;
  });
  std::vector<int> uncovered;
  for (const auto& [pid, p] : processes_)
    if (affected.contains(p.target) && !covering_attachment(p.binary, pid)) uncovered.push_back(pid);
  for (int pid : uncovered) untrack(pid);

  for (auto& [id, t] : targets_) {
    bool still_used = std::ranges::any_of(attachments_, [&](const Attachment& a) { return a.spec == text && a.target == id; });
    bool had = std::erase_if(t.specs, [&](const TargetSpec& s) { return s.text() == text && !still_used; }) > 0;
    if (!had && !affected.contains(id)) continue;
    bool attached = std::ranges::any_of(attachments_, [&](const Attachment& a) { return a.target == id; });
    if (!attached && t.specs.empty()) {
      t.info.state = model::TargetState::detached;
      for (auto& p : t.info.probes) p.attached = false;
      log()->info("target {} detached: no longer asked for", t.info.name);
    } else if (!attached && t.info.state == model::TargetState::attached) {
      t.info.state = model::TargetState::exited;
      for (auto& p : t.info.probes) p.attached = false;
    }
    publish(t);
  }

  // A whole-binary attachment had superseded the pid-filtered ones on its
  // binary; the --pid specs it covered need theirs back.
  if (whole_binary_gone) {
    std::vector<TargetSpec> orphans;
    for (const auto& [id, t] : targets_)
      for (const auto& s : t.specs)
        if (s.kind == TargetSpec::Kind::pid && std::ranges::none_of(attachments_, [&](const Attachment& a) { return a.pid == s.pid; }))
          orphans.push_back(s);
    for (const auto& s : orphans) add_process(s);
  }
}

std::vector<int> TargetManager::discovered_pids() const {
  const std::string text = discovered_spec(0).text();
  std::vector<int> out;
  for (const auto& a : attachments_)
    if (a.spec == text) out.push_back(a.pid);
  return out;
}

void TargetManager::add_spec(Target& t, const TargetSpec& spec) {
  if (std::ranges::none_of(t.specs, [&](const TargetSpec& s) { return s.text() == spec.text(); })) t.specs.push_back(spec);
}

void TargetManager::untrack(int pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.pidfd, nullptr);
  close(it->second.pidfd);
  processes_.erase(it);
  if (collector_) collector_->retire_process(pid);
  else model_.process_exited(pid);
}

void TargetManager::track_process(uint32_t target, const target::ProcessIdentity& id) {
  if (processes_.contains(id.pid)) return;
  model_.process_started(target, id.pid, id.start_time);
  if (auto pod = parse_pod_cgroup(cgroup_path(procfs_, id.pid)))
    model_.process_workload(id.pid, resolve_workload(*pod, kKubeletLogRoot));
  int fd = pidfd_open(id.pid);
  if (fd < 0) {
    // Gone already: book what it counted.
    if (collector_) collector_->retire_process(id.pid);
    else model_.process_exited(id.pid);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(id.pid);
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  processes_[id.pid] = Process{target, id.exe, id.start_time, fd};
  auto bin = binaries_.find(processes_[id.pid].binary);
  if (heap_ && bin != binaries_.end()) heap_->track(id, bin->second.go);
}

void TargetManager::on_process_seen(int pid, uint32_t target_id) {
  if (processes_.contains(pid)) return;
  auto id = procfs_.identity(pid);
  if (!id) {
    if (collector_) collector_->retire_process(pid);
    return;
  }
  track_process(target_id, *id);
  auto it = targets_.find(target_id);
  log()->info("new process {} of target {}", pid, it == targets_.end() ? "?" : it->second.info.name);
}

void TargetManager::handle_exits() {
  epoll_event evs[64];
  int n = epoll_wait(epfd_, evs, 64, 0);
  for (int i = 0; i < n; i++) {
    int pid = static_cast<int>(evs[i].data.u64);
    auto it = processes_.find(pid);
    if (it == processes_.end()) continue;
    uint32_t target = it->second.target;
    untrack(pid);

    // A pid-filtered attachment has nothing left to trace.
    std::erase_if(attachments_, [&](Attachment& a) {
      if (a.pid != pid) return false;
      retire_links(a);
      return true;
    });
    Target& t = targets_.at(target);
    bool attached = false;
    for (const auto& a : attachments_) attached |= a.target == target;
    if (!attached && t.info.state == model::TargetState::attached) {
      t.info.state = model::TargetState::exited;
      for (auto& s : t.info.probes) s.attached = false;
    }
    publish(t);
    log()->info("process {} of target {} exited", pid, t.info.name);
  }
}

void TargetManager::forget_unused_binaries() {
  std::erase_if(binaries_, [&](const auto& entry) {
    const BinaryKey& key = entry.first;
    return std::ranges::none_of(attachments_, [&](const Attachment& a) { return a.binary == key; }) &&
           std::ranges::none_of(processes_, [&](const auto& p) { return p.second.binary == key; });
  });
}

Status TargetManager::attach_tier(Attachment& a, probes::Tier tier, probes::LinkStack& out) {
  const Binary& bin = binaries_.at(a.binary);
  for (const auto& p : bin.plan.probes) {
    if (p.tier != tier) continue;
    uint64_t cookie = HA_COOKIE(bin.layout_id, a.target, p.cookie_flags(), p.cookie_slot());
    auto link = bpf_.attach_uprobe(p.probe, a.path, p.attach_offset, a.pid, cookie);
    if (!link) return fail(link.error());
    out.push(std::move(*link));
  }
  return {};
}

void TargetManager::mark_insert_probes(Target& t) {
  for (auto& s : t.info.probes)
    if (s.on_demand) s.attached = inserts_on_ && t.info.state == model::TargetState::attached;
  publish(t);
}

Status TargetManager::set_insert_probes(bool on) {
  if (on == inserts_on_) return {};
  inserts_on_ = on;
  Status result;
  for (auto& a : attachments_) {
    if (!on) {
      a.insert_links.clear();  // last attached, first detached (LinkStack)
    } else if (a.insert_links.empty()) {
      if (auto st = attach_tier(a, probes::Tier::inserts, a.insert_links); !st && result) result = st;
    }
  }
  for (auto& [id, t] : targets_) mark_insert_probes(t);
  return result;
}

bool TargetManager::any_attached() const {
  for (const auto& [id, t] : targets_)
    if (t.info.state == model::TargetState::attached) return true;
  return false;
}

}  // namespace hotalloc::tracer
