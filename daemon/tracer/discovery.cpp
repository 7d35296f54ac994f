#include "tracer/discovery.h"

#include <fstream>
#include <set>

#include "target/buildinfo.h"
#include "target/elf_file.h"
#include "util/log.h"

namespace hotalloc::tracer {
namespace {

std::shared_ptr<spdlog::logger> log() { return logging::get("discovery"); }

}  // namespace

std::string cgroup_path(const target::ProcFs& procfs, int pid) {
  std::ifstream in(fmt::format("{}/{}/cgroup", procfs.root(), pid));
  std::string line, v1_systemd;
  while (std::getline(in, line)) {
    // "0::/path" is the unified hierarchy; "1:name=systemd:/path" is systemd's on v1 hosts.
    if (line.starts_with("0::")) return line.substr(3);
    if (auto p = line.find(":name=systemd:"); p != std::string::npos) v1_systemd = line.substr(p + 14);
  }
  return v1_systemd;
}

std::string unit_of(const std::string& cgroup) {
  std::string_view rest = cgroup;
  std::string unit;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    for (std::string_view suffix : {".service", ".scope"})
      if (part.ends_with(suffix) && part.size() > suffix.size()) unit = part;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return unit;
}

Discovery::Discovery(target::ProcFs procfs, const std::vector<std::string>& patterns) : procfs_(std::move(procfs)) {
  for (const auto& p : patterns) patterns_.emplace_back(p, std::regex::extended | std::regex::nosubs);
}

bool Discovery::matches(const ProcessTraits& t) const {
  if (patterns_.empty()) return true;
  for (const auto& re : patterns_)
    for (const std::string* field : {&t.comm, &t.exe, &t.cgroup, &t.unit})
      if (!field->empty() && std::regex_search(*field, re)) return true;
  return false;
}

bool Discovery::is_go(const target::ProcessIdentity& id) {
  const target::FileId key = id.exe;
  if (auto it = traceable_.find(key); it != traceable_.end()) return it->second;
  // Through the process's own view of the file: it may live in another
  // mount namespace.
  bool go = false;
  if (auto elf = target::ElfFile::open(procfs_.exe_link(id.pid))) go = target::read_buildinfo(*elf).has_value();
  traceable_[key] = go;
  if (go) log()->debug("{} (pid {}) is a Go program", id.exe_path, id.pid);
  return go;
}

void Discovery::refuse_binary(const target::ProcessIdentity& id) { traceable_[id.exe] = false; }

std::optional<target::ProcessIdentity> Discovery::examine(int pid, bool again) {
  auto id = procfs_.identity(pid);
  if (!id) {
    if (again) log()->debug("pid {} cannot be examined: {}", pid, id.error().message);
    return std::nullopt;
  }
  if (id->exe_path.empty()) {
    if (again) log()->debug("pid {}: its executable cannot be read (exited, or a kernel thread)", pid);
    return std::nullopt;
  }
  auto [it, fresh] = examined_.try_emplace(pid, id->start_time);
  if (!fresh && it->second == id->start_time && !again) return std::nullopt;
  it->second = id->start_time;
  if (!is_go(*id)) {
    if (again) log()->debug("pid {} now runs {}, not a Go program", pid, id->exe_path);
    return std::nullopt;
  }
  if (!patterns_.empty()) {
    std::string cgroup = cgroup_path(procfs_, pid);
    ProcessTraits traits{id->comm, id->exe_path, cgroup, unit_of(cgroup)};
    if (!matches(traits)) {
      log()->debug("pid {} ({}) does not match --match", pid, id->exe_path);
      return std::nullopt;
    }
  }
  return std::move(*id);
}

std::vector<target::ProcessIdentity> Discovery::scan() {
  std::vector<int> pids = procfs_.pids();
  std::set<int> live(pids.begin(), pids.end());
  std::erase_if(examined_, [&](const auto& e) { return !live.contains(e.first); });
  std::vector<target::ProcessIdentity> out;
  for (int pid : pids)
    if (auto id = examine(pid)) out.push_back(std::move(*id));
  return out;
}

}  // namespace hotalloc::tracer
