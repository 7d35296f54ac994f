#include "collect/map_reader.h"

#include <algorithm>
#include <functional>
#include <cstring>
#include <ctime>

#include <bpf/bpf.h>

#include "collect/bpf_table.h"
#include "util/log.h"

namespace hotalloc::collect {
namespace {

constexpr size_t kMaxDirectory = 1024;  // directory entries read for a swiss map's shape
constexpr size_t kMaxTables = 256;      // tables whose capacity is read
// A map whose counters did not move has its shape read again this often
// (its length may change without a growth); one that moved, at every poll.
constexpr int64_t kShapeRefreshMs = 10'000;

// Changes whenever any field of the entry does: a sum of fields that only
// grow (counters, flags set once, a map type going from 0 to known), and a
// new map at the address has a new created_ns.
uint64_t activity_of(const ha_map_stats& st) {
  uint64_t n = st.created_ns + st.inserts + st.evacuated_buckets + st.growth_refills + st.growth_bytes +
               st.growth_large + st.maptype + st.flags;
  for (uint64_t g : st.growths) n += g;
  return n;
}

std::shared_ptr<spdlog::logger> log() { return logging::get("maps"); }

int64_t clock_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t now_unix_ms() { return clock_ns(CLOCK_REALTIME) / 1'000'000; }

}  // namespace

MapReader::MapReader(int map_stats_fd, int hot_keys_fd, std::function<uint64_t(ha_stat)> stat_total,
                     model::MapModel& model, target::BinaryCache& binaries,
                     heapprof::SymbolizerCache& symbolizers, target::ProcFs procfs)
    : map_stats_fd_(map_stats_fd),
      hot_keys_fd_(hot_keys_fd),
      stat_total_(std::move(stat_total)),
      model_(model),
      binaries_(binaries),
      symbolizers_(symbolizers),
      procfs_(std::move(procfs)) {}

int64_t MapReader::unix_ms(uint64_t ktime_ns) const {
  return (int64_t(ktime_ns) + realtime_minus_monotonic_ns_) / 1'000'000;
}

MapSymbols* MapReader::symbols(int pid) {
  if (auto it = processes_.find(pid); it != processes_.end()) return it->second.get();
  if (unreadable_.contains(pid)) return nullptr;
  auto fail_once = [&](const std::string& why) {
    log()->debug("pid {}: map sites and types unavailable: {}", pid, why);
    unreadable_.insert(pid);
    return nullptr;
  };
  // Usually the binary the tracer loaded to attach its probes.
  auto bin = binaries_.open(procfs_.exe_link(pid));
  if (!bin) return fail_once(bin.error().message);
  auto sym = MapSymbols::open(procfs_, pid, symbolizers_.get(bin->binary));
  if (!sym) return fail_once(sym.error().message);
  return (processes_[pid] = std::move(*sym)).get();
}

const model::MapIdentity& MapReader::identity(int pid, MapSymbols& sym, const ha_map_stats& st, bool with_types) {
  // Many maps share a site and a type: each pair is resolved once per
  // process, then a lookup.
  const uint64_t maptype = with_types ? st.maptype : 0;
  auto [it, fresh] = identities_.try_emplace({pid, st.site_pc, maptype});
  model::MapIdentity& id = it->second;
  if (!fresh) return id;
  if (auto site = sym.call_site(st.site_pc)) {
    id.file = site->file;
    id.site = site_label(*site);
    id.function = site->function;
  }
  if (maptype) {
    const target::RuntimeLayout& l = sym.layout();
    auto key = sym.read_value<uint64_t>(st.maptype + l.maptype_key);
    auto elem = sym.read_value<uint64_t>(st.maptype + l.maptype_elem);
    if (key)
      if (auto t = sym.type(*key)) {
        id.key_type = t->name;
        id.key_kind = static_cast<model::GoKind>(t->kind);
      }
    if (elem)
      if (auto t = sym.type(*elem)) id.elem_type = t->name;
  }
  return id;
}

namespace {

// The part of a map header a shape needs (classic hmap: count..oldbuckets;
// swiss Map: used..dirLen), read for every map of a process in one batch.
constexpr size_t kHeaderBytes = 48;

// A shape from the header alone; for a swiss map with a directory, `tables`
// is left to read_tables.
model::MapShape decode_header(const target::RuntimeLayout& l, const uint8_t* h, uint64_t* dir_ptr, uint64_t* dir_len) {
  model::MapShape s;
  s.swiss = l.swiss_maps;
  *dir_len = 0;
  if (!l.swiss_maps) {
    std::memcpy(&s.len, h + l.hmap_count, 8);
    s.b = h[l.hmap_b];
    uint16_t nover = 0;
    std::memcpy(&nover, h + l.hmap_noverflow, 2);
    s.overflow_buckets = nover;
    uint64_t old = 0;
    std::memcpy(&old, h + l.hmap_oldbuckets, 8);
    s.growing = old != 0;
    // A map that died may have had its memory reused: only a shape the
    // runtime could have is shown.
    s.known = s.b <= 48 && s.len <= (uint64_t(8) << s.b) + 8 * uint64_t(nover);
    return s;
  }
  std::memcpy(&s.len, h + l.swiss_map_used, 8);
  std::memcpy(dir_ptr, h + l.swiss_map_dir_ptr, 8);
  std::memcpy(dir_len, h + l.swiss_map_dir_len, 8);
  s.directory = *dir_len;
  if (*dir_len == 0) {
    s.groups = *dir_ptr ? 1 : 0;
    s.known = s.len <= 8;
  }
  return s;
}

// A swiss map's tables: its directory, then every table's capacity.
void read_tables(MapSymbols& sym, uint64_t dir_ptr, uint64_t dir_len, model::MapShape& s) {
  const target::RuntimeLayout& l = sym.layout();
  if (dir_len > (uint64_t(1) << 32)) return;
  std::vector<uint64_t> dir(std::min<uint64_t>(dir_len, kMaxDirectory));
  if (!sym.read(dir_ptr, {reinterpret_cast<uint8_t*>(dir.data()), dir.size() * 8})) return;
  std::sort(dir.begin(), dir.end());
  dir.erase(std::unique(dir.begin(), dir.end()), dir.end());
  s.tables = dir.size();
  std::vector<uint16_t> capacity(std::min(dir.size(), kMaxTables));
  std::vector<heapprof::Range> ranges;
  for (size_t i = 0; i < capacity.size(); i++)
    ranges.push_back({dir[i] + l.swiss_table_capacity, {reinterpret_cast<uint8_t*>(&capacity[i]), sizeof capacity[i]}});
  if (!sym.read(ranges)) return;
  for (uint16_t cap : capacity) s.groups += cap / 8;
  s.known = s.len <= s.groups * 8 || dir.size() > kMaxTables;
}

// Whether every header field decode_header reads lies within kHeaderBytes
// (offsets from DWARF for a Go version without a table could lie beyond).
bool header_fits(const target::RuntimeLayout& l) {
  auto within = [](uint16_t offset, size_t size) { return size_t(offset) + size <= kHeaderBytes; };
  if (l.swiss_maps)
    return within(l.swiss_map_used, 8) && within(l.swiss_map_dir_ptr, 8) && within(l.swiss_map_dir_len, 8);
  return within(l.hmap_count, 8) && within(l.hmap_b, 1) && within(l.hmap_noverflow, 2) &&
         within(l.hmap_oldbuckets, 8);
}

}  // namespace

std::vector<model::MapShape> MapReader::shapes(MapSymbols& sym, std::span<const uint64_t> maps) {
  // This runs at every collection for every map that moved: the headers of
  // all of a process's maps in one system call (IOV_MAX at a time), and
  // only maps with swiss tables read more.
  std::vector<uint8_t> headers(maps.size() * kHeaderBytes);
  std::vector<heapprof::Range> ranges;
  ranges.reserve(maps.size());
  for (size_t i = 0; i < maps.size(); i++) ranges.push_back({maps[i], {&headers[i * kHeaderBytes], kHeaderBytes}});
  std::vector<model::MapShape> out(maps.size());
  for (model::MapShape& s : out) s.swiss = sym.layout().swiss_maps;
  if (!header_fits(sym.layout())) return out;  // unknown shapes, not misread ones
  std::vector<bool> read = sym.read_each(ranges);
  for (size_t i = 0; i < maps.size(); i++) {
    if (!read[i]) continue;
    uint64_t dir_ptr = 0, dir_len = 0;
    out[i] = decode_header(sym.layout(), &headers[i * kHeaderBytes], &dir_ptr, &dir_len);
    if (dir_len) read_tables(sym, dir_ptr, dir_len, out[i]);
  }
  return out;
}

void MapReader::poll() {
  realtime_minus_monotonic_ns_ = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  int64_t now = now_unix_ms();
  poll_maps(now);
  poll_keys();
  for (auto& [ev, map] : pending_) model_.event(std::move(ev), map);
  pending_.clear();
}

void MapReader::poll_maps(int64_t now_ms) {
  const uint64_t added = stat_total_(HA_STAT_MAPS_ADDED);  // before the table (EvictionCount)
  bool complete = false;
  auto entries = read_all<ha_map_key, ha_map_stats>(map_stats_fd_, &complete);
  const uint64_t poll = ++polls_;
  // The entries that moved, in table order; their shapes are read per process first.
  struct Update {
    const ha_map_key* key;
    const ha_map_stats* st;
    MapSymbols* sym;
    model::MapModel::Status status;
    model::MapShape shape;
  };
  std::vector<Update> updates;
  std::unordered_map<MapSymbols*, std::vector<size_t>> shape_reads;  // process -> its updates
  for (const auto& [key, st] : entries) {
    int pid = static_cast<int>(key.tgid);
    auto [it, fresh] = seen_maps_.try_emplace({pid, key.map});
    SeenMap& seen = it->second;
    const uint64_t activity = activity_of(st);
    const bool moved = fresh || seen.activity != activity;
    seen.activity = activity;
    seen.poll = poll;
    // Most entries of a busy table did not change since the last poll: the
    // model has their counts already, and the lookups of identity, parking
    // and shape are skipped. An idle map still takes the full path every
    // kShapeRefreshMs, when its shape is read again (its length moves
    // without any counter while insert probes are off); an unlisted one
    // (quiet, parked) has no shape to refresh.
    if (!moved && (!seen.listed || now_ms - seen.shape_read_ms < kShapeRefreshMs)) continue;
    seen.shape_read_ms = now_ms;
    Update& u = updates.emplace_back(Update{&key, &st, symbols(pid)});
    u.status = model_.status(pid, key.map, st);
    seen.listed = u.status.listed;
    if (u.sym && !(st.flags & HA_MAP_ON_STACK) && u.status.listed) shape_reads[u.sym].push_back(updates.size() - 1);
  }
  for (auto& [sym, which] : shape_reads) {
    std::vector<uint64_t> maps;
    for (size_t i : which) maps.push_back(updates[i].key->map);
    std::vector<model::MapShape> got = shapes(*sym, maps);
    for (size_t j = 0; j < which.size(); j++) updates[which[j]].shape = got[j];
  }
  const model::MapIdentity unknown;
  for (Update& u : updates) {
    int pid = static_cast<int>(u.key->tgid);
    const model::MapIdentity* id = nullptr;
    if (u.status.needs_identity) id = u.sym ? &identity(pid, *u.sym, *u.st, u.status.listed) : &unknown;
    model_.update(u.st->target_id, pid, u.key->map, *u.st, id, u.shape, now_ms);
  }
  if (!complete) return;  // an entry missing from a partial read is not gone
  // Gone from the table, and not deleted here (process_exited forgets what
  // it deletes): evicted. The model forgets those maps one by one.
  uint64_t gone = std::erase_if(seen_maps_, [&](const auto& kv) {
    if (kv.second.poll == poll) return false;
    model_.map_evicted(kv.first.first, kv.first.second);
    return true;
  });
  map_evictions_.counted(gone);
  if (uint64_t n = map_evictions_.uncounted(added, entries.size())) model_.maps_evicted(n);
}

void MapReader::poll_keys() {
  const uint64_t added = stat_total_(HA_STAT_HOT_KEYS_ADDED);  // before the table (EvictionCount)
  bool complete = false;
  auto entries = read_all<ha_hot_key_id, ha_hot_key>(hot_keys_fd_, &complete);
  const uint64_t poll = ++polls_;
  struct Delta {
    uint64_t delta;
    size_t entry;
    SeenKey* seen;  // stable: an unordered_map moves no element when it grows
    bool operator>(const Delta& o) const { return delta > o.delta; }
  };
  std::vector<Delta> deltas;
  for (size_t i = 0; i < entries.size(); i++) {
    const auto& [id, hk] = entries[i];
    SeenKey& seen = seen_keys_[{static_cast<int>(id.tgid), id.map, id.hash}];
    if (hk.count > seen.count) deltas.push_back({hk.count - seen.count, i, &seen});
    seen.poll = poll;
  }
  // Heaviest first: a key new to the top-K then takes a free slot, with an
  // exact count, before the light ones fill the rest.
  std::sort(deltas.begin(), deltas.end(), std::greater<>());
  for (const Delta& d : deltas) {
    const auto& [id, hk] = entries[d.entry];
    model::CapturedKey key{static_cast<ha_key_kind>(hk.kind), hk.len, {hk.bytes, sizeof hk.bytes}};
    // A key of a map the model does not know yet (made after this poll read
    // the map table) keeps its delta for the poll that knows the map.
    if (model_.hot_key(static_cast<int>(id.tgid), id.map, id.hash, d.delta, key)) d.seen->count = hk.count;
  }
  if (!complete) return;  // an entry missing from a partial read is not gone
  std::erase_if(seen_keys_, [&](const auto& kv) { return kv.second.poll != poll; });
  if (uint64_t n = key_evictions_.uncounted(added, entries.size())) model_.keys_evicted(n);
}

void MapReader::on_event(const ha_event_map& ev, const ha_map_stats* reused) {
  if (realtime_minus_monotonic_ns_ == 0)
    realtime_minus_monotonic_ns_ = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  int pid = static_cast<int>(ev.hdr.tgid);
  model::TimelineEvent t;
  t.unix_ms = unix_ms(ev.hdr.ktime_ns);
  t.target = ev.target_id;
  t.pid = pid;
  uint64_t map = ev.map;
  switch (ev.event) {
    case HA_MEV_GROWTH_START:
      t.kind = "growth_start";
      t.growth_kind = model::growth_kind_name(ev.growth_kind);
      t.old_size = ev.a;
      t.new_size = ev.b;
      break;
    case HA_MEV_GROWTH_END:
      t.kind = "growth_end";
      if (ev.growth_kind < model::kGrowthKinds) t.growth_kind = model::growth_kind_name(ev.growth_kind);
      t.migrated = ev.a;
      if (ev.b && ev.b <= ev.hdr.ktime_ns) t.duration_us = int64_t(ev.hdr.ktime_ns - ev.b) / 1000;
      break;
    case HA_MEV_GC_START:
      t.kind = "gc_start";
      gc_started_[pid] = ev.hdr.ktime_ns;
      break;
    case HA_MEV_GC_END:
      t.kind = "gc_end";
      if (auto it = gc_started_.find(pid); it != gc_started_.end() && it->second <= ev.hdr.ktime_ns)
        t.duration_us = int64_t(ev.hdr.ktime_ns - it->second) / 1000;
      break;
    case HA_MEV_LARGE_ALLOC:
      t.kind = "large_alloc";
      t.bytes = ev.a;
      break;
    case HA_MEV_MAP_REUSED:
      if (reused) model_.retire(ev.target_id, pid, ev.map, *reused, t.unix_ms);
      return;
    default:
      return;
  }
  pending_.emplace_back(std::move(t), map);
}

void MapReader::process_exited(int pid) {
  poll();
  processes_.erase(pid);
  unreadable_.erase(pid);
  std::erase_if(identities_, [pid](const auto& kv) { return std::get<0>(kv.first) == pid; });
  gc_started_.erase(pid);
  // Free the kernel's slots, which that poll has just listed (the process
  // adds no more); no count is lost, the model has the poll's counts.
  std::erase_if(seen_maps_, [&](const auto& kv) {
    if (kv.first.first != pid) return false;
    ha_map_key key{static_cast<uint32_t>(pid), 0, kv.first.second};
    if (bpf_map_delete_elem(map_stats_fd_, &key) == 0) map_evictions_.deleted();
    return true;
  });
  std::erase_if(seen_keys_, [&](const auto& kv) {
    if (std::get<0>(kv.first) != pid) return false;
    ha_hot_key_id id{static_cast<uint32_t>(pid), 0, std::get<1>(kv.first), std::get<2>(kv.first)};
    if (bpf_map_delete_elem(hot_keys_fd_, &id) == 0) key_evictions_.deleted();
    return true;
  });
}

}  // namespace hotalloc::collect
