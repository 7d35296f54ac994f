#include "model/maps.h"

#include <algorithm>

namespace hotalloc::model {
namespace {

constexpr const char* kOther = "other";
constexpr const char* kOtherKey = "__other__";
constexpr size_t kMetricKeyBytes = 32;
constexpr size_t kViewKeys = 64;       // top keys per map in a snapshot
constexpr size_t kKeptWindows = 8;
constexpr double kRefillBurstFactor = 4.0;
constexpr double kRefillBurstFloor = 1000;  // refills per second below which nothing is a burst

uint64_t sub(uint64_t now, uint64_t before) { return now > before ? now - before : 0; }

uint64_t activity(const SiteTotals& d) {
  uint64_t n = d.evacuated_buckets + d.inserts + d.growth_refills;
  for (uint64_t g : d.growths) n += g;
  return n;
}

SiteTotals delta(const ha_map_stats& now, const ha_map_stats& before) {
  SiteTotals d;
  for (size_t k = 0; k < kGrowthKinds; k++) d.growths[k] = sub(now.growths[k], before.growths[k]);
  d.evacuated_buckets = sub(now.evacuated_buckets, before.evacuated_buckets);
  d.growth_refills = sub(now.growth_refills, before.growth_refills);
  d.growth_bytes = sub(now.growth_bytes, before.growth_bytes);
  d.inserts = sub(now.inserts, before.inserts);
  return d;
}

}  // namespace

SiteTotals& SiteTotals::operator+=(const SiteTotals& o) {
  for (size_t k = 0; k < kGrowthKinds; k++) growths[k] += o.growths[k];
  evacuated_buckets += o.evacuated_buckets;
  growth_refills += o.growth_refills;
  growth_bytes += o.growth_bytes;
  inserts += o.inserts;
  return *this;
}

const char* growth_kind_name(size_t kind) {
  switch (kind) {
    case HA_GROWTH_GROW: return "grow";
    case HA_GROWTH_SAME_SIZE: return "same_size";
    case HA_GROWTH_TO_SMALL: return "to_small";
    case HA_GROWTH_TO_TABLE: return "to_table";
    case HA_GROWTH_TABLE_GROW: return "table_grow";
    case HA_GROWTH_SPLIT: return "split";
  }
  return "unknown";
}

MapModel::Record* MapModel::find(int pid, uint64_t address) {
  auto it = index_.find({pid, address});
  return it == index_.end() ? nullptr : it->second;
}

bool MapModel::quiet(const ha_map_stats& st) {
  for (size_t k = 0; k < kGrowthKinds; k++)
    if (st.growths[k] > (k == HA_GROWTH_TO_SMALL ? 1u : 0u)) return false;
  return st.inserts == 0 && st.evacuated_buckets == 0 && st.growth_large == 0;
}

MapModel::Status MapModel::status(int pid, uint64_t address, const ha_map_stats& stats) const {
  if (auto it = index_.find({pid, address}); it != index_.end() && it->second->created_ns == stats.created_ns) {
    const Record& r = *it->second;
    return {true, stats.maptype != 0 && r.identity.key_type.empty()};
  }
  if (auto p = parked_.find({pid, address}); p != parked_.end() && p->second.created_ns == stats.created_ns) {
    const bool comes_alive = p->second.quiet && !quiet(stats);
    return {comes_alive, comes_alive};
  }
  return {!quiet(stats), true};  // a map new to the model
}

MapModel::Record& MapModel::create(uint32_t target, int pid, uint64_t address, uint64_t created_ns,
                                   const MapIdentity* identity) {
  TargetState& t = targets_[target];
  uint64_t id = next_id_++;
  Record& r = t.records[id];
  r.id = id;
  r.target = target;
  r.pid = pid;
  r.address = address;
  r.created_ns = created_ns;
  if (identity) r.identity = *identity;
  if (r.identity.site.empty()) r.identity.site = "unknown";
  index_[{pid, address}] = &r;
  return r;
}

void MapModel::forget(TargetState& t, uint64_t id) {
  auto it = t.records.find(id);
  if (it == t.records.end()) return;
  auto ix = index_.find({it->second.pid, it->second.address});
  if (ix != index_.end() && ix->second == &it->second) index_.erase(ix);
  t.records.erase(it);
}

void MapModel::route(TargetState& t, const std::string& site, const ha_map_stats& now, const ha_map_stats& before) {
  SiteTotals d = delta(now, before);
  if (auto it = t.sites.find(site); it != t.sites.end() && site != kOther) {
    it->second += d;
    return;
  }
  t.sites[kOther] += d;
  if (uint64_t a = activity(d)) t.pending_sites[site] += a;
}

void MapModel::update(uint32_t target, int pid, uint64_t address, const ha_map_stats& stats,
                      const MapIdentity* identity, const MapShape& shape, int64_t now_ms) {
  Record* r = find(pid, address);
  if (r && r->created_ns != stats.created_ns) {
    // A new map at the address, whose predecessor's end was not reported:
    // what it counted since the last poll is lost, and counted where it was
    // lost (the ring buffer's drop of its reuse event, or the kernel table's
    // eviction of its entry).
    forget(targets_[r->target], r->id);
    r = nullptr;
  }
  ha_map_stats before{};
  std::string quiet_site;  // a quiet map's site, as it comes alive
  if (!r) {
    if (auto p = parked_.find({pid, address}); p != parked_.end()) {
      if (p->second.created_ns != stats.created_ns) {
        parked_.erase(p);  // a new map at that address
      } else if (!p->second.quiet || quiet(stats)) {
        route(targets_[p->second.target], *p->second.site, stats, p->second.last);
        p->second.last = stats;
        return;
      } else {
        // A quiet map came alive: listed from now on, its counts going on
        // from what its site already has.
        target = p->second.target;
        targets_[target].maps_quiet--;
        before = p->second.last;
        quiet_site = *p->second.site;
        parked_.erase(p);
      }
    }
    if (quiet(stats)) {
      TargetState& t = targets_[target];
      const std::string& site = intern(identity && !identity->site.empty() ? identity->site : "unknown");
      route(t, site, stats, before);
      park(Parked{target, stats.created_ns, &site, stats, true}, pid, address);
      t.maps_quiet++;
      return;
    }
    r = &create(target, pid, address, stats.created_ns, identity);
    if (!identity && !quiet_site.empty()) r->identity.site = std::move(quiet_site);
    r->last = before;
    r->last_active_ms = now_ms;
    r->rate_since_ms = now_ms;
  }
  TargetState& t = targets_[r->target];
  if (identity && !identity->key_type.empty()) {
    r->identity.key_type = identity->key_type;
    r->identity.elem_type = identity->elem_type;
    r->identity.key_kind = identity->key_kind;
  }
  route(t, r->identity.site, stats, r->last);
  if (activity(delta(stats, r->last))) r->last_active_ms = now_ms;
  r->last = stats;
  r->flags = stats.flags;
  if (shape.known) r->shape = shape;

  if (t.records.size() > limits_.maps_per_target) park_least_active(t);
}

void MapModel::update_rate(Record& r, int64_t now_ms) {
  if (now_ms - r.rate_since_ms < 1000) return;
  r.inserts_per_second =
      double(sub(r.last.inserts, r.rate_since_inserts)) * 1000.0 / double(now_ms - r.rate_since_ms);
  r.rate_since_ms = now_ms;
  r.rate_since_inserts = r.last.inserts;
}

// Parks the least recently active tenth of the records at once, so that a
// target with many more live maps than the limit costs one sort now and
// then, not a scan of every record at every update.
void MapModel::park_least_active(TargetState& t) {
  // Equally active maps (all those one poll saw move) go oldest first: the
  // kernel's creation time, not the record's id, which follows the order
  // of the kernel's table within a poll.
  std::vector<std::tuple<int64_t, uint64_t, uint64_t>> by_activity;  // (last active, created, id)
  by_activity.reserve(t.records.size());
  for (const auto& [id, r] : t.records) by_activity.emplace_back(r.last_active_ms, r.created_ns, id);
  size_t keep = limits_.maps_per_target - limits_.maps_per_target / 10;
  size_t drop = by_activity.size() - std::min(keep, by_activity.size());
  std::nth_element(by_activity.begin(), by_activity.begin() + drop, by_activity.end());
  for (size_t i = 0; i < drop; i++) {
    const Record& r = t.records.at(std::get<2>(by_activity[i]));
    const int pid = r.pid;
    const uint64_t address = r.address;
    Parked p{r.target, r.created_ns, &intern(r.identity.site), r.last};
    forget(t, r.id);
    park(std::move(p), pid, address);
    t.maps_parked++;
  }
}

const std::string& MapModel::intern(const std::string& site) { return *site_names_.insert(site).first; }

void MapModel::park(Parked p, int pid, uint64_t address) {
  // A parked map is one of the kernel's entries, and one the kernel evicts
  // is unparked (map_evicted) after the collection that adds its
  // successors: twice the kernel's table is reached only if the reader
  // missed evictions (reads cut short); then an arbitrary parked map goes.
  constexpr size_t kMaxParked = 2 * HA_MAX_MAPS;
  if (parked_.size() >= kMaxParked) parked_.erase(parked_.begin());
  parked_.insert_or_assign({pid, address}, std::move(p));
}

void MapModel::retire(uint32_t target, int pid, uint64_t address, const ha_map_stats& final_stats, int64_t) {
  Record* r = find(pid, address);
  if (r && r->created_ns == final_stats.created_ns) {
    TargetState& t = targets_[r->target];
    route(t, r->identity.site, final_stats, r->last);
    forget(t, r->id);
    return;
  }
  if (auto p = parked_.find({pid, address}); p != parked_.end() && p->second.created_ns == final_stats.created_ns) {
    route(targets_[p->second.target], *p->second.site, final_stats, p->second.last);
    parked_.erase(p);
    return;
  }
  // Never polled: its counts go to the target's other series.
  route(targets_[target], kOther, final_stats, ha_map_stats{});
}

void MapModel::map_evicted(int pid, uint64_t address) {
  kernel_map_evictions_++;
  parked_.erase({pid, address});
  if (Record* r = find(pid, address)) forget(targets_[r->target], r->id);
}

void MapModel::process_exited(int pid) {
  std::erase_if(parked_, [pid](const auto& p) { return p.first.first == pid; });
  for (auto& [tid, t] : targets_) {
    std::vector<uint64_t> gone;
    for (const auto& [id, r] : t.records)
      if (r.pid == pid) gone.push_back(id);
    for (uint64_t id : gone) forget(t, id);
  }
}

std::string MapModel::key_label(uint64_t key_hash, const std::string& decoded) const {
  return limits_.redact_keys ? redacted_key_label(key_hash) : metric_key_label(decoded, kMetricKeyBytes);
}

bool MapModel::hot_key(int pid, uint64_t address, uint64_t key_hash, uint64_t delta, const CapturedKey& key) {
  Record* r = find(pid, address);
  if (!r) {
    auto p = parked_.find({pid, address});
    // A quiet map with inserts is listed at the next collection: its keys wait for it.
    if (p == parked_.end() || p->second.quiet) return false;
    targets_[p->second.target].other_key_inserts += delta;
    return true;
  }
  TargetState& t = targets_[r->target];
  if (!r->keys) r->keys = std::make_unique<SpaceSaving>(limits_.keys_per_map);
  // Decoding costs more than counting: only keys new to the top-K need it.
  const std::string* kept = r->keys->label(key_hash);
  std::string decoded = kept ? *kept : decode_key(key, r->identity.key_kind);
  r->keys->add(key_hash, delta, decoded);
  if (limits_.hot_keys_per_map == 0) return true;
  auto site = t.hot_keys.find(r->identity.site);
  if (site == t.hot_keys.end()) {
    t.other_key_inserts += delta;
    return true;
  }
  auto series = site->second.find(key_label(key_hash, decoded));
  if (series == site->second.end()) series = site->second.find(kOtherKey);
  series->second += delta;
  return true;
}

void MapModel::push(TimelineEvent ev) {
  ev.seq = next_seq_++;
  if (published_timeline_.get() == timeline_.get()) {
    // The published deque is shared with readers: copy before changing it.
    timeline_ = std::make_shared<std::deque<TimelineEvent>>(*timeline_);
  }
  timeline_->push_back(std::move(ev));
  while (timeline_->size() > limits_.timeline_events) timeline_->pop_front();
  timeline_changed_ = true;
}

void MapModel::event(TimelineEvent ev, uint64_t map_address) {
  if (map_address) {
    if (Record* r = find(ev.pid, map_address)) {
      ev.map_id = r->id;
      ev.site = r->identity.site;
    }
  }
  push(std::move(ev));
}

void MapModel::refills(uint32_t target, uint64_t refills_total, int64_t now_ms) {
  TargetState& t = targets_[target];
  if (t.last_refills_ms == 0 || refills_total < t.last_refills) {
    t.last_refills = refills_total;
    t.last_refills_ms = now_ms;
    return;
  }
  int64_t dt = now_ms - t.last_refills_ms;
  if (dt < 100) return;
  uint64_t n = refills_total - t.last_refills;
  double rate = double(n) * 1000.0 / double(dt);
  // Against the usual rate: none is known before the second interval.
  if (t.refill_rate > 0 && rate > kRefillBurstFloor && rate > kRefillBurstFactor * t.refill_rate) {
    TimelineEvent ev;
    ev.unix_ms = now_ms;
    ev.target = target;
    ev.kind = "refill_burst";
    ev.count = n;
    ev.duration_us = dt * 1000;
    push(std::move(ev));
  }
  t.refill_rate = t.refill_rate == 0 ? rate : 0.8 * t.refill_rate + 0.2 * rate;
  t.last_refills = refills_total;
  t.last_refills_ms = now_ms;
}

KeyWindow MapModel::open_window(int64_t now_ms, int64_t duration_ms) {
  KeyWindow w{next_window_++, now_ms, now_ms + duration_ms};
  // Published snapshots share the baselines: change a copy.
  baselines_ = std::make_shared<Baselines>(*baselines_);
  auto& base = (*baselines_)[w.id];
  for (const auto& [tid, t] : targets_)
    for (const auto& [id, r] : t.records) {
      base[{r.pid, r.address, kWindowInsertsKey}] = r.last.inserts;
      if (r.keys)
        for (const auto& e : r.keys->top(r.keys->size())) base[{r.pid, r.address, e.key}] = e.count;
    }
  windows_.push_back(w);
  while (windows_.size() > kKeptWindows) {
    baselines_->erase(windows_.front().id);
    windows_.erase(windows_.begin());
  }
  return w;
}

void MapModel::promote(TargetState& t) {
  size_t exported = t.sites.size() - (t.sites.contains(kOther) ? 1 : 0);
  if (exported < limits_.site_series && !t.pending_sites.empty()) {
    std::vector<std::pair<uint64_t, std::string>> ranked;
    for (const auto& [site, a] : t.pending_sites) ranked.emplace_back(a, site);
    std::sort(ranked.rbegin(), ranked.rend());
    for (const auto& [a, site] : ranked) {
      if (exported >= limits_.site_series) break;
      if (site == kOther) continue;
      t.sites.try_emplace(site);
      t.pending_sites.erase(site);
      exported++;
    }
  }
  if (limits_.hot_keys_per_map == 0) return;
  // Hot-key series: the sites with the most inserts, then their top keys.
  std::map<std::string, const Record*> busiest;  // site -> its map with most inserts
  for (const auto& [id, r] : t.records) {
    if (!r.keys || r.last.inserts == 0) continue;
    auto& b = busiest[r.identity.site];
    if (!b || r.last.inserts > b->last.inserts) b = &r;
  }
  std::vector<std::pair<uint64_t, std::string>> ranked;
  for (const auto& [site, r] : busiest)
    if (!t.hot_keys.contains(site)) ranked.emplace_back(r->last.inserts, site);
  std::sort(ranked.rbegin(), ranked.rend());
  for (const auto& [n, site] : ranked) {
    if (t.hot_keys.size() >= limits_.hot_key_maps) break;
    t.hot_keys[site][kOtherKey] = 0;
  }
  for (auto& [site, keys] : t.hot_keys) {
    auto b = busiest.find(site);
    if (b == busiest.end()) continue;
    for (const auto& e : b->second->keys->top(limits_.hot_keys_per_map)) {
      if (keys.size() > limits_.hot_keys_per_map) break;
      keys.try_emplace(key_label(e.key, e.label), 0);
    }
  }
}

std::shared_ptr<const MapsSnapshot> MapModel::publish(int64_t now_ms) {
  bool window_open = std::any_of(windows_.begin(), windows_.end(), [&](const KeyWindow& w) {
    return w.end_ms + 60'000 > now_ms;
  });
  if (last_decay_ms_ == 0) last_decay_ms_ = now_ms;
  if (now_ms - last_decay_ms_ >= limits_.key_decay_period_ms && !window_open) {
    for (auto& [tid, t] : targets_)
      for (auto& [id, r] : t.records)
        if (r.keys) r.keys->decay(0.5);
    last_decay_ms_ = now_ms;
  }

  auto s = std::make_shared<MapsSnapshot>();
  for (auto& [tid, t] : targets_) {
    promote(t);
    TargetMaps& v = s->targets[tid];
    v.sites = t.sites;
    v.maps_parked = t.maps_parked;
    v.maps_quiet = t.maps_quiet;
    for (const auto& [site, keys] : t.hot_keys)
      for (const auto& [key, n] : keys) v.hot_keys.push_back({site, key, n});
    if (limits_.hot_keys_per_map > 0) v.hot_keys.push_back({kOther, kOtherKey, t.other_key_inserts});
    for (auto& [id, r] : t.records) {
      // Here, not at update: a map whose counters stopped is not updated,
      // and its rate must still fall to zero.
      update_rate(r, now_ms);
      MapView m;
      m.id = r.id;
      m.pid = r.pid;
      m.address = r.address;
      m.identity = r.identity;
      m.created_seen = r.flags & HA_MAP_CREATED;
      if (r.flags & HA_MAP_CHECKED) m.on_stack = (r.flags & HA_MAP_ON_STACK) != 0;
      m.shape = r.shape;
      for (size_t k = 0; k < kGrowthKinds; k++) m.growths[k] = r.last.growths[k];
      m.evacuated_buckets = r.last.evacuated_buckets;
      m.growth_refills = r.last.growth_refills;
      m.growth_bytes = r.last.growth_bytes;
      m.growth_large = r.last.growth_large;
      m.inserts = r.last.inserts;
      m.inserts_per_second = r.inserts_per_second;
      if (r.keys) {
        m.key_inserts = r.keys->total();
        m.key_evictions = r.keys->evictions();
        m.top_keys = r.keys->top(kViewKeys);
      }
      v.maps.push_back(std::move(m));
    }
    std::sort(v.maps.begin(), v.maps.end(), [](const MapView& a, const MapView& b) {
      uint64_t wa = a.inserts + a.evacuated_buckets, wb = b.inserts + b.evacuated_buckets;
      for (uint64_t g : a.growths) wa += g;
      for (uint64_t g : b.growths) wb += g;
      return wa != wb ? wa > wb : a.id < b.id;
    });
  }
  if (timeline_changed_) {
    published_timeline_ = timeline_;
    timeline_changed_ = false;
  }
  s->timeline = published_timeline_;
  s->next_seq = next_seq_;
  s->windows = windows_;
  s->baselines = baselines_;
  s->kernel_map_evictions = kernel_map_evictions_;
  s->kernel_key_evictions = kernel_key_evictions_;
  return s;
}

}  // namespace hotalloc::model
