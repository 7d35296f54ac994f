#include "tracer/target_manager.h"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "target/runtime_layout.h"
#include "util/log.h"

namespace hotalloc::tracer {
namespace {

int pidfd_open(int pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::shared_ptr<spdlog::logger> log() { return logging::get("tracer"); }

}  // namespace

TargetManager::TargetManager(probes::BpfObjects& bpf, model::Model& model, target::ProcFs procfs)
    : bpf_(bpf), model_(model), procfs_(std::move(procfs)), epfd_(epoll_create1(EPOLL_CLOEXEC)) {}

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
  if (std::none_of(t.specs.begin(), t.specs.end(), [&](const TargetSpec& s) { return s.text() == spec.text(); }))
    t.specs.push_back(spec);
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
  BinaryKey key{st.st_dev, st.st_ino};
  if (binaries_.contains(key)) return key;

  if (next_layout_id_ >= HA_MAX_LAYOUTS) return fail("too many distinct binaries traced (max {})", HA_MAX_LAYOUTS);
  auto go = target::GoBinary::open(path);
  if (!go) return fail(go.error());
  auto layout = target::runtime_layout((*go)->go_version());
  if (!layout) return fail(layout.error().context(path));
  auto plan = probes::plan_probes(**go);
  if (!plan) return fail(plan.error());

  Binary b;
  b.go = *go;
  b.layout_id = next_layout_id_++;
  b.plan = std::move(*plan);
  if (auto st2 = bpf_.set_layout(b.layout_id, probes::to_bpf_layout(*layout)); !st2) return fail(st2.error());
  for (const auto& p : b.plan.probes)
    log()->debug("{}: {} at +{} ({}, {}) file offset {:#x}", path, p.symbol, p.site.offset,
                 probes::to_string(p.site.placement), p.site.instruction, p.attach_offset);
  binaries_.emplace(key, std::move(b));
  return key;
}

const TargetManager::Attachment* TargetManager::covering_attachment(const BinaryKey& key, int pid) const {
  for (const auto& a : attachments_)
    if (a.binary == key && (a.pid == -1 || a.pid == pid)) return &a;
  return nullptr;
}

Status TargetManager::attach(Target& t, const BinaryKey& key, const std::string& path, int pid) {
  const Binary& bin = binaries_.at(key);
  Attachment a;
  a.target = t.info.id;
  a.binary = key;
  a.pid = pid;
  for (const auto& p : bin.plan.probes) {
    uint64_t cookie = HA_COOKIE(bin.layout_id, t.info.id, p.probe, p.cookie_flags());
    auto link = bpf_.attach_uprobe(p.probe, path, p.attach_offset, pid, cookie);
    if (!link) return fail(link.error());
    a.links.push_back(std::move(*link));
  }
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
    s.attached = true;
    t.info.probes.push_back(std::move(s));
  }
  t.info.state = model::TargetState::attached;
  t.info.error.clear();
  t.info.error_reason.clear();
  t.info.go_version = bin.go->go_version().text;
  return {};
}

void TargetManager::add(const TargetSpec& spec) {
  if (spec.kind == TargetSpec::Kind::pid) {
    auto id = procfs_.identity(spec.pid);
    if (!id) {
      failed_target(spec, fmt::format("pid-{}", spec.pid), "no_process", id.error());
      return;
    }
    Target& t = target_named(target_name_for(id->exe_path));
    t.specs.push_back(spec);
    std::string path = procfs_.exe_link(spec.pid);
    auto key = load_binary(path);
    if (!key) {
      failed_target(spec, t.info.name, "bad_binary", key.error().context(fmt::format("pid {}", spec.pid)));
      return;
    }
    if (const Attachment* a = covering_attachment(*key, spec.pid)) {
      log()->info("pid {} is already traced as target {}", spec.pid, targets_.at(a->target).info.name);
    } else if (auto st = attach(t, *key, path, spec.pid); !st) {
      failed_target(spec, t.info.name, "attach", st.error());
      return;
    }
    t.info.exe = id->exe_path;
    publish(t);
    track_process(t.info.id, *id);
    log()->info("tracing pid {} ({}, {}) as target {}", spec.pid, id->exe_path, t.info.go_version, t.info.name);
    return;
  }

  std::string name = spec.name.empty() ? target_name_for(spec.path) : spec.name;
  Target& t = target_named(name);
  t.specs.push_back(spec);
  auto key = load_binary(spec.path);
  if (!key) {
    failed_target(spec, name, "bad_binary", key.error());
    return;
  }
  if (auto st = attach(t, *key, spec.path, -1); !st) {
    failed_target(spec, name, "attach", st.error());
    return;
  }
  t.info.exe = spec.path;
  publish(t);
  log()->info("tracing every process of {} ({}) as target {}", spec.path, t.info.go_version, name);
  // Processes already running the binary; new ones announce themselves
  // through their first probe hit.
  for (int pid : procfs_.pids()) {
    auto id = procfs_.identity(pid);
    if (id && BinaryKey{static_cast<dev_t>(id->exe_dev), static_cast<ino_t>(id->exe_ino)} == *key)
      track_process(t.info.id, *id);
  }
}

void TargetManager::track_process(uint32_t target, const target::ProcessIdentity& id) {
  if (processes_.contains(id.pid)) return;
  model_.process_started(target, id.pid, id.start_time);
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
  processes_[id.pid] = Process{target, id.start_time, fd};
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
    epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.pidfd, nullptr);
    close(it->second.pidfd);
    processes_.erase(it);
    if (collector_) collector_->retire_process(pid);
    else model_.process_exited(pid);

    // A pid-filtered attachment has nothing left to trace.
    std::erase_if(attachments_, [&](const Attachment& a) { return a.pid == pid; });
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

bool TargetManager::any_attached() const {
  for (const auto& [id, t] : targets_)
    if (t.info.state == model::TargetState::attached) return true;
  return false;
}

}  // namespace hotalloc::tracer
