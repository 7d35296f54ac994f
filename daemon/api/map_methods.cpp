#include "api/map_methods.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "api/params.h"

namespace hotalloc::api {
namespace {

using nlohmann::json;

json shape_json(const model::MapShape& s) {
  if (!s.known) return nullptr;
  if (!s.swiss)
    return {{"B", s.b}, {"overflow_buckets", s.overflow_buckets}, {"growing", s.growing}};
  return {{"groups", s.groups}, {"tables", s.tables}, {"directory", s.directory}};
}

json map_json(const model::MapView& m) {
  json growths = json::object();
  for (size_t k = 0; k < model::kGrowthKinds; k++)
    if (m.growths[k]) growths[model::growth_kind_name(k)] = m.growths[k];
  return {{"id", m.id},
          {"pid", m.pid},
          {"address", fmt::format("{:#x}", m.address)},
          {"site", m.identity.site},
          {"file", m.identity.file},
          {"function", m.identity.function},
          {"created_seen", m.created_seen},
          {"key_type", m.identity.key_type},
          {"elem_type", m.identity.elem_type},
          {"on_stack", m.on_stack ? json(*m.on_stack) : json(nullptr)},
          {"len", m.shape.known ? json(m.shape.len) : json(nullptr)},
          {"shape", shape_json(m.shape)},
          {"growths", std::move(growths)},
          {"evacuated_buckets", m.evacuated_buckets},
          {"growth_bytes", m.growth_bytes},
          {"growth_refills", m.growth_refills},
          {"growth_large_allocs", m.growth_large},
          {"inserts", m.inserts},
          {"inserts_per_second", m.inserts_per_second}};
}

Outcome maps(Backend& backend, const Request& r) {
  auto limit = uint_param(r, "limit");
  if (!limit) return std::unexpected(limit.error());
  auto sc = scope(backend, r, true);
  if (!sc) return std::unexpected(sc.error());
  const auto& [snap, sel] = *sc;
  json out = json::array();
  uint64_t quiet = 0, parked = 0;
  for (uint32_t id : sel.ids)
    if (const auto* tm = target_maps(*snap, id)) {
      quiet += tm->maps_quiet;
      parked += tm->maps_parked;
      for (const auto& m : tm->maps) {
        if (limit->has_value() && out.size() >= **limit) break;
        out.push_back(map_json(m));
      }
    }
  return json{{"target", sel.name}, {"maps", std::move(out)}, {"unlisted", {{"quiet", quiet}, {"parked", parked}}}};
}

Outcome hotkeys(Backend& backend, const Request& r) {
  auto map_id = uint_param(r, "map");
  if (!map_id) return std::unexpected(map_id.error());
  auto n = limit_param(r, 10);
  if (!n) return std::unexpected(n.error());
  auto window_id = uint_param(r, "window");
  if (!window_id) return std::unexpected(window_id.error());

  auto sc = scope(backend, r, true);
  if (!sc) return std::unexpected(sc.error());
  const auto& [snap, sel] = *sc;

  const std::map<std::tuple<int, uint64_t, uint64_t>, uint64_t>* base = nullptr;
  double window_seconds = 0;
  if (*window_id) {
    const model::KeyWindow* w = nullptr;
    if (snap->maps) {  // none before the first collection
      for (const auto& kw : snap->maps->windows)
        if (kw.id == **window_id) w = &kw;
      if (auto b = snap->maps->baselines->find(**window_id); b != snap->maps->baselines->end()) base = &b->second;
    }
    if (!w || !base)
      return reject(ErrorCode::invalid_params, fmt::format("no hot-key window {} (windows are kept for the last 8)",
                                                           **window_id));
    window_seconds = double(std::min(snap->taken_unix_ms, w->end_ms) - w->start_ms) / 1000.0;
  } else {
    int64_t up = snap->taken_unix_ms - snap->daemon.started_unix_ms;
    window_seconds = double(up) / 1000.0;
  }
  auto since = [&](int pid, uint64_t addr, uint64_t key, uint64_t now) -> uint64_t {
    if (!base) return now;
    auto it = base->find({pid, addr, key});
    uint64_t before = it == base->end() ? 0 : it->second;
    return now > before ? now - before : 0;
  };

  json out = json::array();
  bool found = !map_id->has_value();
  for (uint32_t id : sel.ids) {
    const auto* tm = target_maps(*snap, id);
    if (!tm) continue;
    for (const auto& m : tm->maps) {
      if (map_id->has_value() && m.id != **map_id) continue;
      found = true;
      if (m.top_keys.empty()) continue;
      // Shares are of the inserts the top-K saw (decayed alike); the map's
      // own count is exact.
      uint64_t total = base ? since(m.pid, m.address, model::kWindowInsertsKey, m.inserts) : m.key_inserts;
      uint64_t inserts = base ? total : m.inserts;
      std::vector<std::pair<uint64_t, const model::SpaceSaving::Entry*>> keys;
      for (const auto& e : m.top_keys) keys.emplace_back(since(m.pid, m.address, e.key, e.count), &e);
      std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      json kj = json::array();
      for (const auto& [count, e] : keys) {
        if (kj.size() >= *n || count == 0) break;
        kj.push_back({{"key", e->label},
                      {"count", count},
                      {"error", e->error},
                      {"share", total ? double(count) / double(total) : 0.0}});
      }
      out.push_back({{"id", m.id},
                     {"site", m.identity.site},
                     {"function", m.identity.function},
                     {"key_type", m.identity.key_type},
                     {"inserts", inserts},
                     {"keys", std::move(kj)}});
    }
  }
  if (!found) return reject(ErrorCode::invalid_params, fmt::format("no map {} in target {}", **map_id, sel.name));
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["inserts"].get<uint64_t>() > b["inserts"].get<uint64_t>();
  });
  return json{{"target", sel.name}, {"window_seconds", window_seconds}, {"maps", std::move(out)}};
}

json event_json(const model::TimelineEvent& e, const std::string& target) {
  json j = {{"seq", e.seq}, {"time_unix_ms", e.unix_ms}, {"target", target}, {"pid", e.pid}, {"kind", e.kind}};
  if (e.map_id) j["map"] = e.map_id;
  if (!e.site.empty()) j["site"] = e.site;
  if (!e.growth_kind.empty()) j["growth_kind"] = e.growth_kind;
  if (e.kind == "growth_start") {
    j["old_size"] = e.old_size;
    j["new_size"] = e.new_size;
  }
  if (e.kind == "growth_end") j["migrated"] = e.migrated;
  if (e.duration_us >= 0) j["duration_us"] = e.duration_us;
  if (e.kind == "large_alloc") j["bytes"] = e.bytes;
  if (e.kind == "refill_burst") j["refills"] = e.count;
  return j;
}

Outcome events(Backend& backend, const Request& r) {
  auto since = uint_param(r, "since");
  if (!since) return std::unexpected(since.error());
  auto limit = limit_param(r, 100);
  if (!limit) return std::unexpected(limit.error());
  size_t n = *limit;

  auto sc = scope(backend, r, false);
  if (!sc) return std::unexpected(sc.error());
  const auto& [snap, sel] = *sc;
  std::map<uint32_t, std::string> names;
  for (const auto& t : snap->targets) names[t.id] = t.name;

  std::vector<const model::TimelineEvent*> picked;
  if (snap->maps && snap->maps->timeline) {
    for (auto it = snap->maps->timeline->rbegin(); it != snap->maps->timeline->rend(); ++it) {
      if (since->has_value() && it->seq <= **since) break;
      if (std::find(sel.ids.begin(), sel.ids.end(), it->target) == sel.ids.end()) continue;
      picked.push_back(&*it);
    }
  }
  // Oldest first; without `since`, the latest `limit`; with it, the first `limit` after it.
  std::reverse(picked.begin(), picked.end());
  if (picked.size() > n) {
    if (since->has_value()) picked.resize(n);
    else picked.erase(picked.begin(), picked.end() - static_cast<ptrdiff_t>(n));
  }
  json out = json::array();
  for (const auto* e : picked) out.push_back(event_json(*e, names[e->target]));
  uint64_t next = picked.empty() ? (snap->maps ? snap->maps->next_seq - 1 : 0) : picked.back()->seq;
  if (since->has_value() && picked.empty()) next = std::max(next, **since);
  return json{{"events", std::move(out)}, {"next", next}};
}

}  // namespace

void add_map_methods(Handler& handler, Backend& backend, MapInsertControl& control) {
  handler.add({"maps", false, [&backend](const Request& r) { return maps(backend, r); }});
  handler.add({"hotkeys", false, [&backend](const Request& r) { return hotkeys(backend, r); }});
  handler.add({"events", false, [&backend](const Request& r) { return events(backend, r); }});
  handler.add({"map_inserts", true, [&control](const Request& r) -> Outcome {
                 auto mode = string_param(r, "mode");
                 if (!mode) return std::unexpected(mode.error());
                 auto seconds = uint_param(r, "for_seconds");
                 if (!seconds) return std::unexpected(seconds.error());
                 if (seconds->value_or(0) > 3600)
                   return reject(ErrorCode::invalid_params, "\"for_seconds\" is at most 3600");
                 if (!*mode && !*seconds) return reject(ErrorCode::invalid_params, "give \"mode\" or \"for_seconds\"");
                 auto res = control.set_map_inserts(*mode, int64_t(seconds->value_or(0)) * 1000);
                 if (!res) return reject(ErrorCode::invalid_params, res.error().message);
                 return *res;
               }});
}

}  // namespace hotalloc::api
