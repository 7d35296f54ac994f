#include "model/advice.h"

#include <algorithm>
#include <map>
#include <numeric>

#include <fmt/format.h>

namespace hotalloc::model {
namespace {

uint64_t total_growths(const MapView& m) { return std::accumulate(m.growths.begin(), m.growths.end(), uint64_t{0}); }

std::string map_type(const MapView& m) {
  const std::string& k = m.identity.key_type;
  const std::string& v = m.identity.elem_type;
  return fmt::format("map[{}]{}", k.empty() ? "K" : k, v.empty() ? "V" : v);
}

// The maps made at one site.
struct MapSite {
  std::vector<const MapView*> maps;
  const MapView* largest = nullptr;  // by known length
  uint64_t growths = 0, growth_bytes = 0, evacuated = 0;
  uint64_t grown = 0;  // maps with at least one growth
};

std::map<std::string, MapSite> by_site(const TargetMaps& tm) {
  std::map<std::string, MapSite> sites;
  for (const MapView& m : tm.maps) {
    if (m.identity.site.empty()) continue;
    MapSite& s = sites[m.identity.site];
    s.maps.push_back(&m);
    uint64_t g = total_growths(m);
    s.growths += g;
    s.growth_bytes += m.growth_bytes;
    s.evacuated += m.evacuated_buckets;
    s.grown += g > 0;
    if (m.shape.known && (!s.largest || m.shape.len > s.largest->shape.len)) s.largest = &m;
  }
  return sites;
}

void map_advice(const TargetMaps& tm, const AdviceThresholds& t, std::vector<Advice>& out) {
  for (const auto& [site, s] : by_site(tm)) {
    const MapView& any = *s.maps.front();
    if (s.grown >= t.min_reuse_maps) {  // grown maps are among s.maps
      // One map, cleared between uses, grows as the largest did: once.
      const MapView* keep = s.largest ? s.largest : &any;
      Advice a;
      a.kind = "reuse_map";
      a.site = site;
      a.function = any.identity.function;
      a.suggestion = fmt::format("make the {} once and reuse it, emptied with clear(m), instead of a new map per use",
                                 map_type(any));
      a.evidence = {{"maps", s.maps.size()}, {"maps_grown", s.grown}, {"growths", s.growths},
                    {"growth_bytes", s.growth_bytes}};
      uint64_t saved_growths = s.growths - std::min(s.growths, total_growths(*keep));
      uint64_t saved_bytes = s.growth_bytes - std::min(s.growth_bytes, keep->growth_bytes);
      a.saving = {{"growths", saved_growths}, {"bytes", saved_bytes}};
      a.rank_bytes = saved_bytes;
      out.push_back(std::move(a));
      continue;
    }
    if (!s.largest || s.growths < t.min_map_growths || s.largest->shape.len < t.min_map_len) continue;
    uint64_t n = s.largest->shape.len;
    Advice a;
    a.kind = "presize_map";
    a.site = site;
    a.function = any.identity.function;
    a.suggestion = fmt::format("presize with make({}, {})", map_type(any), n);
    a.evidence = {{"maps", s.maps.size()}, {"growths", s.growths}, {"len", n}, {"growth_bytes", s.growth_bytes},
                  {"evacuated_buckets", s.evacuated}};
    a.saving = {{"growths", s.growths}, {"bytes", s.growth_bytes}, {"evacuated_buckets", s.evacuated}};
    a.rank_bytes = s.growth_bytes;
    out.push_back(std::move(a));
  }
}

void hot_key_advice(const TargetMaps& tm, const AdviceThresholds& t, std::vector<Advice>& out) {
  for (const MapView& m : tm.maps) {
    if (m.inserts < t.min_hot_inserts || m.key_inserts == 0) continue;
    if (m.inserts_per_second > 0 && m.inserts_per_second < t.min_hot_rate) continue;
    std::vector<KeyShare> keys;
    uint64_t on_keys = 0;
    for (const auto& e : m.top_keys) {
      if (keys.size() >= t.max_hot_keys) break;
      // The lower bound of the count: Space-Saving may overestimate by `error`.
      uint64_t sure = e.count - std::min(e.count, e.error);
      double share = double(sure) / double(m.key_inserts);
      if (share < t.min_key_share) break;
      keys.push_back({e.label, sure, share});
      on_keys += sure;
    }
    if (keys.empty() || double(on_keys) / double(m.key_inserts) < t.min_hot_share) continue;
    Advice a;
    a.kind = "hot_keys";
    a.site = m.identity.site;
    a.function = m.identity.function;
    a.suggestion = fmt::format("{} of every 100 inserts go to {} key{}: shard them (or count per goroutine and merge)",
                               uint64_t(100 * double(on_keys) / double(m.key_inserts)), keys.size(),
                               keys.size() == 1 ? "" : "s");
    a.evidence = {{"inserts", m.inserts}, {"inserts_per_second", uint64_t(m.inserts_per_second)},
                  {"inserts_on_keys", on_keys}};
    a.saving = {{"inserts_spread", on_keys}};
    a.keys = std::move(keys);
    a.rank_bytes = on_keys * 8;
    out.push_back(std::move(a));
  }
}

void slice_advice(const TargetSlices& ts, const AdviceThresholds& t, std::vector<Advice>& out) {
  for (const SliceSite& s : ts.sites) {
    uint64_t slices = std::max<uint64_t>(s.from_empty, 1);
    if (double(s.growths) / double(slices) < t.min_slice_growths_per_slice || s.max_new_cap < t.min_slice_cap)
      continue;
    uint64_t n = s.max_new_cap;
    // Presized, each slice still allocates one array of n elements.
    uint64_t presized = slices * n * s.elem_size;
    uint64_t saved_alloc = s.alloc_bytes - std::min(s.alloc_bytes, presized);
    Advice a;
    a.kind = "presize_slice";
    a.site = s.identity.site;
    a.function = s.identity.function;
    a.suggestion = fmt::format("allocate with make([]{}, 0, {})", s.identity.elem_type.empty() ? "T" : s.identity.elem_type, n);
    a.evidence = {{"growths", s.growths},          {"slices", s.from_empty},        {"max_len", s.max_new_len},
                  {"max_cap", n},                  {"elem_size", s.elem_size},      {"copied_bytes", s.copied_bytes},
                  {"alloc_bytes", s.alloc_bytes}};
    // make allocates each slice once; growslice is not called at all.
    a.saving = {{"growths", s.growths}, {"allocations", s.growths - std::min(s.growths, slices)},
                {"copied_bytes", s.copied_bytes}, {"alloc_bytes", saved_alloc}};
    a.rank_bytes = s.copied_bytes + saved_alloc;
    out.push_back(std::move(a));
  }
}

}  // namespace

std::vector<Advice> advise(const TargetMaps* maps, const TargetSlices* slices, const AdviceThresholds& t) {
  std::vector<Advice> out;
  if (maps) {
    map_advice(*maps, t, out);
    hot_key_advice(*maps, t, out);
  }
  if (slices) slice_advice(*slices, t, out);
  std::ranges::stable_sort(out, std::greater<>(), &Advice::rank_bytes);
  return out;
}

}  // namespace hotalloc::model
