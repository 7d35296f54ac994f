#include "api/advice_methods.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/params.h"
#include "model/advice.h"

namespace hotalloc::api {
namespace {

using nlohmann::json;

json figures(const std::vector<std::pair<std::string, uint64_t>>& v) {
  json out = json::object();
  for (const auto& [k, n] : v) out[k] = n;
  return out;
}

json advice_json(const model::Advice& a) {
  json j = {{"kind", a.kind},
            {"site", a.site},
            {"function", a.function},
            {"suggestion", a.suggestion},
            {"evidence", figures(a.evidence)},
            {"saving", figures(a.saving)}};
  if (a.kind == "hot_keys") {
    json keys = json::array();
    for (const auto& k : a.keys) keys.push_back({{"key", k.key}, {"inserts", k.inserts}, {"share", k.share}});
    j["evidence"]["keys"] = std::move(keys);
  }
  return j;
}

json slice_json(const model::SliceSite& s, const std::string& target) {
  return {{"target", target},
          {"site", s.identity.site},
          {"file", s.identity.file},
          {"function", s.identity.function},
          {"elem_type", s.identity.elem_type},
          {"elem_size", s.elem_size},
          {"growths", s.growths},
          {"from_empty", s.from_empty},
          {"copied_bytes", s.copied_bytes},
          {"alloc_bytes", s.alloc_bytes},
          {"allocs", s.allocs},
          {"max_len", s.max_new_len},
          {"max_cap", s.max_new_cap}};
}

Outcome advise(Backend& backend, const Request& r) {
  auto sc = scope(backend, r, true);
  if (!sc) return std::unexpected(sc.error());
  const auto& [snap, sel] = *sc;
  std::vector<model::Advice> all;
  for (uint32_t id : sel.ids) {
    auto advice = model::advise(target_maps(*snap, id), target_slices(*snap, id));
    std::ranges::move(advice, std::back_inserter(all));
  }
  std::ranges::stable_sort(all, std::greater<>(), &model::Advice::rank_bytes);
  json out = json::array();
  for (const auto& a : all) out.push_back(advice_json(a));
  return json{{"target", sel.name}, {"advice", std::move(out)}};
}

// Unnamed, the sites of every target: each says whose it is, and "target"
// is null unless they all share one name.
Outcome slices(Backend& backend, const Request& r) {
  auto n = limit_param(r, 100);
  if (!n) return std::unexpected(n.error());
  auto sc = scope(backend, r, false);
  if (!sc) return std::unexpected(sc.error());
  const auto& [snap, sel] = *sc;
  struct Picked {
    const model::SliceSite* site;
    const std::string* target;
  };
  std::vector<Picked> sites;
  bool one_name = true;
  for (const model::TargetView* t : sc->views()) {
    one_name = one_name && t->name == sel.name;
    if (const auto* ts = target_slices(*snap, t->id))
      for (const auto& s : ts->sites) sites.push_back({&s, &t->name});
  }
  std::ranges::stable_sort(sites, std::greater<>(), [](const Picked& p) { return p.site->growths; });
  json out = json::array();
  for (const auto& p : sites) {
    if (out.size() >= *n) break;
    out.push_back(slice_json(*p.site, *p.target));
  }
  return json{{"target", one_name && !sel.ids.empty() ? json(sel.name) : json(nullptr)}, {"sites", std::move(out)}};
}

}  // namespace

void add_advice_methods(Handler& handler, Backend& backend) {
  handler.add({"advise", false, [&backend](const Request& r) { return advise(backend, r); }});
  handler.add({"slices", false, [&backend](const Request& r) { return slices(backend, r); }});
}

}  // namespace hotalloc::api
