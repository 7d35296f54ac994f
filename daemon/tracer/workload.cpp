#include "tracer/workload.h"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <vector>

namespace hotalloc::tracer {
namespace {

namespace fs = std::filesystem;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

bool is_container_id(std::string_view s) {
  return s.size() == 64 && std::ranges::all_of(s, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "<uid>" from "pod<uid>" (cgroupfs) or "kubepods-<qos>-pod<uid>.slice" /
// "kubepods-pod<uid>.slice" (systemd, dashes in the UID written as "_").
std::optional<std::string> pod_uid(std::string_view segment) {
  if (segment.ends_with(".slice")) {
    segment.remove_suffix(6);
    auto at = segment.rfind("-pod");
    if (!segment.starts_with("kubepods") || at == std::string_view::npos) return std::nullopt;
    std::string uid(segment.substr(at + 4));
    std::ranges::replace(uid, '_', '-');
    return uid.empty() ? std::nullopt : std::optional(uid);
  }
  if (segment.starts_with("pod") && segment.size() > 3) return std::string(segment.substr(3));
  return std::nullopt;
}

// The ID in "cri-containerd-<id>.scope", "crio-<id>.scope", "docker-<id>.scope" or "<id>".
std::optional<std::string> container_id(std::string_view segment) {
  if (segment.ends_with(".scope")) {
    segment.remove_suffix(6);
    auto dash = segment.rfind('-');
    if (dash == std::string_view::npos) return std::nullopt;
    std::string_view runtime = segment.substr(0, dash);
    if (runtime != "cri-containerd" && runtime != "crio" && runtime != "docker") return std::nullopt;
    segment.remove_prefix(dash + 1);
  }
  return is_container_id(segment) ? std::optional(std::string(segment)) : std::nullopt;
}

}  // namespace

std::optional<PodCgroup> parse_pod_cgroup(const std::string& cgroup) {
  auto parts = split(cgroup, '/');
  bool under_kubepods = false;
  std::optional<std::string> uid;
  for (std::string_view p : parts) {
    under_kubepods |= p.starts_with("kubepods");
    if (auto u = pod_uid(p)) uid = u;
  }
  // "/../.." when hotalloc's own cgroup namespace hides the kubepods root.
  if (!uid || (!under_kubepods && !cgroup.starts_with("/..")) || parts.size() < 2) return std::nullopt;
  auto id = container_id(parts.back());
  if (!id) return std::nullopt;
  return PodCgroup{*uid, *id};
}

model::Workload resolve_workload(const PodCgroup& ids, const std::string& log_root) {
  model::Workload w;
  w.pod = ids.pod_uid;
  w.container = ids.container_id.substr(0, 12);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(log_root) / "pods", ec)) {
    std::string name = e.path().filename().native();  // the views below point into it
    auto fields = split(name, '_');
    if (fields.size() == 3 && fields[2] == ids.pod_uid) {
      w.namespace_name = fields[0];
      w.pod = fields[1];
      break;
    }
  }
  std::string suffix = "-" + ids.container_id + ".log";
  for (const auto& e : fs::directory_iterator(fs::path(log_root) / "containers", ec)) {
    std::string name = e.path().filename().native();
    if (!name.ends_with(suffix)) continue;
    auto fields = split(std::string_view(name).substr(0, name.size() - suffix.size()), '_');
    if (fields.size() == 3) w.container = fields[2];
    break;
  }
  return w;
}

}  // namespace hotalloc::tracer
