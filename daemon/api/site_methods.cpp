#include "api/site_methods.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "api/params.h"
#include "heapprof/heap_profile.h"
#include "heapprof/profile_state.h"
#include "pprof/pprof_writer.h"
#include "util/base64.h"
#include "util/gzip.h"

namespace hotalloc::api {
namespace {

using nlohmann::json;

constexpr uint64_t kDefaultSiteLimit = 20;

json frame(const target::SourceLine& f) { return {{"function", f.function}, {"file", f.file}, {"line", f.line}}; }

json values(const std::array<int64_t, heapprof::kNumSampleValues>& v) {
  return {{"alloc_objects", v[heapprof::kAllocObjects]},
          {"alloc_bytes", v[heapprof::kAllocSpace]},
          {"inuse_objects", v[heapprof::kInuseObjects]},
          {"inuse_bytes", v[heapprof::kInuseSpace]}};
}

json profile_json(const model::TargetView& t, const heapprof::ProfileState& state) {
  json pids = json::array();
  for (const auto& p : state.sampling) pids.push_back(p->pid);
  return {{"rate", state.rate},
          {"sampling", !state.sampling.empty()},
          {"pids", std::move(pids)},
          {"message", state.message.empty() ? json(nullptr) : json(state.message)},
          {"processes", t.heap.size()}};
}

json target_sites(const model::TargetView& t, heapprof::SampleValue order, size_t limit) {
  heapprof::ProfileState state = heapprof::profile_state(t.heap);
  heapprof::HeapProfile profile = heapprof::build_heap_profile(state.sampling);
  json sites = json::array();
  for (const heapprof::Site& s : heapprof::top_sites(profile, order, limit)) {
    json site = s.frames.empty() ? json{{"function", ""}, {"file", ""}, {"line", 0}} : frame(s.frames.front());
    json inlined = json::array();
    for (size_t i = 1; i < s.frames.size(); i++) inlined.push_back(frame(s.frames[i]));
    site["inlined_into"] = std::move(inlined);
    site.update(values(s.values));
    std::array<int64_t, heapprof::kNumSampleValues> sampled{};
    for (int v = 0; v < heapprof::kNumSampleValues; v++) sampled[v] = static_cast<int64_t>(s.sampled[v]);
    site["sampled"] = values(sampled);
    sites.push_back(std::move(site));
  }
  return {{"target", t.name},
          {"go_version", t.go_version},
          {"order", heapprof::kSampleTypes[order].type},
          {"profile", profile_json(t, state)},
          {"sites", std::move(sites)},
          {"totals", values(heapprof::scaled_totals(state.sampling))}};
}

json target_names(const model::Snapshot& s) {
  json names = json::array();
  for (const auto& t : s.targets) names.push_back(t.name);
  return names;
}

class Sites {
 public:
  explicit Sites(Backend& backend) : backend_(backend) {}

  Outcome operator()(const Request& r) const {
    bool live = false;
    if (auto it = r.params.find("live"); it != r.params.end() && !it->is_null()) {
      if (!it->is_boolean()) return reject(ErrorCode::invalid_params, "\"live\" must be true or false");
      live = it->get<bool>();
    }
    // Not limit_param: here 0 means every site, and there is no kMaxLimit.
    auto limit = uint_param(r, "limit");
    if (!limit) return std::unexpected(limit.error());
    auto sc = scope(backend_, r, false);
    if (!sc) return std::unexpected(sc.error());
    json out = json::array();
    for (const model::TargetView* t : sc->views())
      out.push_back(target_sites(*t, live ? heapprof::kInuseSpace : heapprof::kAllocSpace,
                                 static_cast<size_t>(limit->value_or(kDefaultSiteLimit))));
    return json{{"targets", std::move(out)}};
  }

 private:
  Backend& backend_;
};

// The profile's bytes in base64 chunks, encoded as the client reads them,
// then a summary.
class ChunkSource final : public ReplySource {
 public:
  ChunkSource(json id, std::string bytes, json summary)
      : stream_(std::move(id)), bytes_(std::move(bytes)), summary_(std::move(summary)) {}

  // The chunks, then the summary.
  std::optional<Reply> next() override {
    if (offset_ == bytes_.size()) return stream_.last(summary_);
    size_t n = std::min(kPprofChunkBytes, bytes_.size() - offset_);
    std::string chunk = base64_encode(std::string_view(bytes_).substr(offset_, n));
    offset_ += n;
    return stream_.partial({{"chunk", std::move(chunk)}});
  }

 private:
  ReplyStream stream_;
  std::string bytes_;
  size_t offset_ = 0;
  json summary_;
};

class Pprof {
 public:
  explicit Pprof(Backend& backend) : backend_(backend) {}

  Opened operator()(const Request& r, const Wake&) const {
    auto sc = scope(backend_, r, true);
    if (!sc) return std::unexpected(sc.error());
    const auto& [snap, sel] = *sc;
    // Stricter than scope's need_one (which refuses only several names):
    // unnamed, pprof wants exactly one target. None leaves nothing to
    // profile; several specs' targets sharing a name still ask for "target"
    // (docs/protocol.md).
    if (sel.ids.empty())  // a named target with none was refused by scope
      return reject(ErrorCode::invalid_params, "the daemon traces no targets", json{{"targets", json::array()}});
    if (!sel.named && sel.ids.size() > 1)
      return reject(ErrorCode::invalid_params, "\"target\" is required when the daemon traces several targets",
                    json{{"targets", target_names(*snap)}});
    const std::string& name = sel.name;
    std::vector<heapprof::ProcessHeapPtr> processes;
    for (const model::TargetView* t : sc->views())
      processes.insert(processes.end(), t->heap.begin(), t->heap.end());
    heapprof::ProfileState state = heapprof::profile_state(processes);
    // Never an empty profile: one that would be says why instead.
    if (state.sampling.empty())
      return reject(ErrorCode::not_attached, fmt::format("target \"{}\" has no heap profile: {}", name, state.message),
                    json{{"rate", state.rate}});

    heapprof::HeapProfile profile = heapprof::build_heap_profile(state.sampling);
    pprof::ProfileMeta meta;
    meta.time_nanos = snap->taken_unix_ms * 1'000'000;
    json pids = json::array();
    std::string pid_list;
    for (const auto& p : state.sampling) {
      pids.push_back(p->pid);
      pid_list += (pid_list.empty() ? "" : ",") + std::to_string(p->pid);
    }
    meta.comments.push_back(fmt::format("hotalloc {}: target {}, pids {}: the runtime's sampled heap profile",
                                        snap->daemon.version, name, pid_list));
    if (!state.message.empty()) meta.comments.push_back(state.message);
    auto gz = gzip(pprof::encode_profile(profile, meta));
    if (!gz) return reject(ErrorCode::internal, "cannot gzip the profile: " + gz.error().message);
    json summary = {{"target", name},
                    {"pids", std::move(pids)},
                    {"rate", profile.period},
                    {"samples", profile.samples.size()},
                    {"bytes", gz->size()},
                    {"message", state.message.empty() ? json(nullptr) : json(state.message)}};
    return std::make_unique<ChunkSource>(r.id, std::move(*gz), std::move(summary));
  }

 private:
  Backend& backend_;
};

}  // namespace

void add_heap_methods(Handler& handler, Backend& backend) {
  handler.add({"sites", false, Sites(backend)});
  Method pprof{"pprof", true, nullptr};
  pprof.open = Pprof(backend);
  handler.add(std::move(pprof));
}

}  // namespace hotalloc::api
