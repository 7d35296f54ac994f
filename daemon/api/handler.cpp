#include "api/handler.h"

#include <algorithm>

#include <fmt/format.h>

#include "api/params.h"
#include "util/log.h"

namespace hotalloc::api {
namespace {

using nlohmann::json;

// Null rather than "" so that scripts can test it for truth (jq treats "" as true).
json error_or_null(const std::string& e) { return e.empty() ? json(nullptr) : json(e); }

// The fields `status` and `targets` share.
json target_identity(const model::TargetView& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"spec", t.spec},
          {"state", model::to_string(t.state)},
          {"error", error_or_null(t.error)},
          {"exe", t.exe},
          {"go_version", t.go_version}};
}

json probe_site(const model::ProbeSite& p) {
  return {{"probe", p.probe},
          {"symbol", p.symbol},
          {"function_address", p.function_address},
          {"site_offset", p.site_offset},
          {"file_offset", p.file_offset},
          {"instruction", p.instruction},
          {"placement", p.placement},
          {"emulated", p.emulated},
          {"attached", p.attached},
          {"error", error_or_null(p.error)}};
}

json daemon_info(const model::Snapshot& s) {
  const model::DaemonInfo& d = s.daemon;
  // Uptime as of the snapshot, so that one answer is consistent in itself.
  int64_t uptime_ms = d.started_unix_ms > 0 ? std::max<int64_t>(0, s.taken_unix_ms - d.started_unix_ms) : 0;
  return {{"version", d.version},
          {"revision", d.revision},
          {"libbpf_version", d.libbpf_version},
          {"pid", d.pid},
          {"started_unix_ms", d.started_unix_ms},
          {"uptime_seconds", uptime_ms / 1000},
          {"http_address", d.http_address},
          {"socket", d.socket_path},
          {"map_inserts", d.map_inserts}};
}

json size_classes(const model::TargetView& t) {
  json classes = json::array();
  for (const model::SizeClassRow& r : model::size_class_rows(t.alloc)) {
    classes.push_back({{"size_class", r.size_class},
                       {"object_size", r.object_size},
                       {"objects", r.objects},
                       {"bytes", r.bytes},
                       {"refills", r.refills},
                       {"noscan_objects", r.noscan_objects}});
  }
  const model::AllocCounts& a = t.alloc;
  // Totals follow runtime/metrics /gc/heap/allocs:{objects,bytes}: small
  // slots plus large objects; tiny allocations live inside 16-byte blocks
  // that are already counted as small objects.
  return {{"target", t.name},
          {"go_version", t.go_version},
          {"classes", std::move(classes)},
          {"large", {{"objects", a.large_objects}, {"bytes", a.large_bytes}}},
          {"tiny", {{"objects", a.tiny_objects}}},
          {"gc_cycles", a.gc_cycles},
          {"totals",
           {{"objects", a.small_objects_total() + a.large_objects},
            {"bytes", a.small_bytes_total() + a.large_bytes}}}};
}

}  // namespace

Handler::Handler(Backend& backend) : backend_(backend) {
  add({"status", false, [this](const Request& r) { return status(r); }});
  add({"targets", false, [this](const Request& r) { return targets(r); }});
  add({"sizeclasses", false, [this](const Request& r) { return sizeclasses(r); }});
}

void Handler::add(Method method) {
  auto same = [&](const Method& m) { return m.name == method.name; };
  if (auto it = std::find_if(methods_.begin(), methods_.end(), same); it != methods_.end()) {
    *it = std::move(method);
  } else {
    methods_.push_back(std::move(method));
  }
}

const Method* Handler::find(std::string_view name) const {
  for (const Method& m : methods_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<std::string> Handler::methods() const {
  std::vector<std::string> names;
  for (const Method& m : methods_) names.push_back(m.name);
  return names;
}

bool Handler::has_method(std::string_view name) const { return find(name) != nullptr; }

Reply Handler::handle(const Request& request, const PeerCred& peer) {
  Answer a = answer(request, peer, {});
  if (auto* reply = std::get_if<Reply>(&a)) return std::move(*reply);
  return Reply::failure(request.id, {ErrorCode::internal, fmt::format("method {} streams its answer", request.method)});
}

Answer Handler::answer(const Request& request, const PeerCred& peer, Wake wake) {
  const Method* m = find(request.method);
  if (!m) {
    return Reply::failure(request.id, {ErrorCode::unknown_method,
                                       fmt::format("unknown method {}", quote_start(request.method)),
                                       json{{"methods", methods()}}});
  }
  if (m->admin && !peer.admin) {
    return Reply::failure(
        request.id, {ErrorCode::permission_denied,
                     fmt::format("method {} needs uid 0 or an admin uid (caller is uid {})", m->name, peer.uid)});
  }
  try {
    if (!m->open) return Reply{request.id, m->run(request)};
    Opened source = m->open(request, std::move(wake));
    if (!source) return Reply::failure(request.id, std::move(source.error()));
    return std::move(*source);
  } catch (const std::exception& e) {
    logging::get("api")->error("method {} failed: {}", m->name, e.what());
    return Reply::failure(request.id, {ErrorCode::internal, fmt::format("method {} failed: {}", m->name, e.what())});
  }
}

std::expected<model::SnapshotPtr, ApiError> Handler::snapshot() {
  model::SnapshotPtr s = backend_.snapshot(kMaxAge);
  if (!s) return reject(ErrorCode::internal, "the daemon has not collected anything yet");
  return s;
}

Outcome Handler::status(const Request&) {
  auto snap = snapshot();
  if (!snap) return std::unexpected(snap.error());
  const model::Snapshot& s = **snap;

  json targets = json::array();
  for (const model::TargetView& t : s.targets) {
    json j = target_identity(t);
    json pids = json::array();
    for (const model::ProcessInfo& p : t.processes) {
      if (p.alive) pids.push_back(p.pid);
    }
    j["pids"] = std::move(pids);
    json probes = json::array();
    for (const model::ProbeSite& p : t.probes) probes.push_back(probe_site(p));
    j["probes"] = std::move(probes);
    targets.push_back(std::move(j));
  }
  json health = json::array();
  for (const model::ProbeHealth& p : s.probes) {
    health.push_back(
        {{"probe", p.probe}, {"hits", p.hits}, {"morestack_skips", p.morestack_skips}, {"links", p.attached}});
  }
  return json{{"daemon", daemon_info(s)},
              {"ready", s.ready},
              {"generation", s.generation},
              {"taken_unix_ms", s.taken_unix_ms},
              {"targets", std::move(targets)},
              {"probe_health", std::move(health)},
              {"drops", s.drops}};
}

Outcome Handler::targets(const Request&) {
  auto snap = snapshot();
  if (!snap) return std::unexpected(snap.error());

  json targets = json::array();
  for (const model::TargetView& t : (*snap)->targets) {
    json j = target_identity(t);
    json processes = json::array();
    for (const model::ProcessInfo& p : t.processes) {
      if (!p.alive) continue;
      json proc = {{"pid", p.pid}, {"start_time", p.start_time}};
      if (!p.workload.pod.empty())
        proc["kubernetes"] = {{"namespace", p.workload.namespace_name},
                              {"pod", p.workload.pod},
                              {"container", p.workload.container}};
      processes.push_back(std::move(proc));
    }
    j["processes"] = std::move(processes);
    j["processes_seen"] = t.processes_seen;
    targets.push_back(std::move(j));
  }
  return json{{"targets", std::move(targets)}};
}

Outcome Handler::sizeclasses(const Request& request) {
  auto sc = scope(backend_, request, false);
  if (!sc) return std::unexpected(sc.error());
  json out = json::array();
  for (const model::TargetView* t : sc->views()) out.push_back(size_classes(*t));
  return json{{"targets", std::move(out)}};
}

}  // namespace hotalloc::api
