#include "model/slices.h"

#include <algorithm>
#include <cstring>

namespace hotalloc::model {
namespace {

constexpr const char* kOther = "other";

// A site label for code hotalloc could not symbolize.
const std::string& label_of(const SliceIdentity* id, const std::string& fallback) {
  return id && !id->site.empty() ? id->site : fallback;
}

}  // namespace

void SliceModel::update(uint32_t target, int pid, uint64_t pc, uint64_t caller, const ha_slice_site& now,
                        const SliceIdentity* identity) {
  auto [it, fresh] = index_.try_emplace({pid, pc, caller});
  Source& src = it->second;
  // Most entries did not change since the last poll (the tier may even be off).
  if (!fresh && std::memcmp(&now, &src.last, sizeof now) == 0) return;
  if (fresh) {
    if (identity) src.identity = *identity;
    src.identity.site = label_of(identity, "?");
  }
  // The site's record may have been dropped by bound() since: it comes back
  // with the identity its source keeps.
  SliceSite& s = targets_[target].sites[src.identity.site].view;
  if (s.identity.site.empty()) s.identity = src.identity;
  const ha_slice_site& before = src.last;
  // LRU eviction in the kernel restarts an entry from zero: count it afresh.
  bool restarted = now.growths < before.growths;
  auto delta = [&](uint64_t a, uint64_t b) { return restarted ? a : a - b; };
  s.elem_size = now.elem_size;
  s.growths += delta(now.growths, before.growths);
  s.from_empty += delta(now.from_empty, before.from_empty);
  s.copied_bytes += delta(now.copied_bytes, before.copied_bytes);
  s.alloc_bytes += delta(now.alloc_bytes, before.alloc_bytes);
  s.allocs += delta(now.allocs, before.allocs);
  s.max_new_len = std::max<uint64_t>(s.max_new_len, now.max_new_len);
  s.max_new_cap = std::max<uint64_t>(s.max_new_cap, now.max_new_cap);
  src.last = now;
}

void SliceModel::process_exited(int pid) {
  std::erase_if(index_, [pid](const auto& kv) { return std::get<0>(kv.first) == pid; });
}

// Sites get series in order of growths while there is room; once given, a
// series stays (a label set that comes and goes would break rate()).
void SliceModel::export_busiest(TargetState& t) {
  size_t exported = t.series.size() - (t.series.contains(kOther) ? 1 : 0);
  if (exported >= limits_.site_series) return;
  std::vector<std::pair<uint64_t, std::string>> ranked;
  for (const auto& [site, s] : t.sites)
    if (s.view.growths && !t.series.contains(site)) ranked.emplace_back(s.view.growths, site);
  std::ranges::sort(ranked, std::greater<>());
  for (const auto& [n, site] : ranked) {
    if (exported >= limits_.site_series) break;
    if (site == kOther) continue;
    t.series.try_emplace(site);
    exported++;
  }
}

// What each site counted since the last publish, to its series or "other".
void SliceModel::route(TargetState& t) {
  for (auto& [site, s] : t.sites) {
    uint64_t growths = s.view.growths - s.routed.growths, bytes = s.view.alloc_bytes - s.routed.bytes;
    if (!growths && !bytes) continue;
    auto series = t.series.find(site);
    SliceSeries& to = series != t.series.end() && site != kOther ? series->second : t.series[kOther];
    to.growths += growths;
    to.bytes += bytes;
    s.routed = {s.view.growths, s.view.alloc_bytes};
  }
}

// Keeps at most sites_per_target records: the sites with fewest growths go
// (after routing, so what they counted stays in the series).
void SliceModel::bound(TargetState& t) {
  if (t.sites.size() <= limits_.sites_per_target) return;
  std::vector<std::pair<uint64_t, std::string>> ranked;
  for (const auto& [site, s] : t.sites) ranked.emplace_back(s.view.growths, site);
  std::ranges::sort(ranked);
  size_t excess = t.sites.size() - limits_.sites_per_target;
  for (size_t i = 0; i < excess; i++) {
    t.sites.erase(ranked[i].second);
    t.sites_forgotten++;
  }
}

std::shared_ptr<const SlicesSnapshot> SliceModel::publish() {
  auto snap = std::make_shared<SlicesSnapshot>();
  for (auto& [id, t] : targets_) {
    export_busiest(t);
    route(t);
    bound(t);
    TargetSlices& out = snap->targets[id];
    for (const auto& [site, s] : t.sites) out.sites.push_back(s.view);
    std::ranges::stable_sort(out.sites, std::greater<>(), &SliceSite::growths);
    out.series = t.series;
    out.sites_forgotten = t.sites_forgotten;
  }
  snap->kernel_evictions = kernel_evictions_;
  return snap;
}

}  // namespace hotalloc::model
