// The model's view of Go maps: one record per listed map (bounded; maps
// that only exist, and those over the bound, are counted for their site
// without one), the series the
// metrics export per creation site and per hot key (bounded, sticky), the
// growth-episode timeline, and hot-key windows. Fed by the collector from
// the kernel's cumulative per-map counters, drained hot-key counts and ring
// events; read through immutable MapsSnapshot values.
//
// Every counter the metrics export is routed at ingestion, as a delta, to
// the series it belongs to at that moment: a site or key that gets its own
// series later starts it at zero and what came before stays in "other", so
// every exported series is monotonic whatever the model forgets.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bpf/hotalloc.h"
#include "model/map_keys.h"
#include "model/topk.h"
#include "util/hash.h"

namespace hotalloc::model {

inline constexpr size_t kGrowthKinds = HA_GROWTH__COUNT;
// "grow", "same_size", "to_small", "to_table", "table_grow", "split".
const char* growth_kind_name(size_t kind);

// Limits that keep the daemon's memory bounded whatever the targets do.
struct MapLimits {
  size_t maps_per_target = 1000;   // map records; the least recently active go first
  size_t keys_per_map = 128;       // Space-Saving capacity
  size_t timeline_events = 4096;   // over all targets
  size_t site_series = 20;         // per target, besides "other"
  size_t hot_key_maps = 5;         // --metrics.hot-maps: sites with hot-key series, per target
  size_t hot_keys_per_map = 5;     // --metrics.hot-keys: 0 turns hot-key series off
  bool redact_keys = false;        // --metrics.hot-keys.redact
  int64_t key_decay_period_ms = 300'000;  // hot-key counts halve this often (no window open)
};

// What the collector learnt about a map beyond its counters.
struct MapIdentity {
  std::string site;      // "main.go:42", the metrics' map label
  std::string file;      // full path as the binary records it
  std::string function;  // the (possibly inlined) function at the site
  std::string key_type, elem_type;
  GoKind key_kind = GoKind::invalid;
};

// The map's current shape, read from the process; known = false when the
// map could not be read (a stack map, an exited process).
struct MapShape {
  bool known = false;
  bool swiss = false;
  uint64_t len = 0;
  // classic
  int b = -1;
  uint64_t overflow_buckets = 0;
  bool growing = false;  // old buckets not yet evacuated
  // swiss
  uint64_t groups = 0;     // slot groups over all tables (or the one small group)
  uint64_t tables = 0;     // distinct tables; 0 for a small map
  uint64_t directory = 0;  // directory entries (dirLen)
};

struct TimelineEvent {
  uint64_t seq = 0;
  int64_t unix_ms = 0;
  uint32_t target = 0;
  int pid = 0;
  std::string kind;  // growth_start, growth_end, large_alloc, refill_burst, gc_start, gc_end
  uint64_t map_id = 0;  // 0: none
  std::string site;
  std::string growth_kind;
  uint64_t old_size = 0, new_size = 0;  // growth_start: B or capacity
  uint64_t migrated = 0;                // growth_end: old buckets or slots moved
  int64_t duration_us = -1;             // growth_end, gc_end: -1 when not known
  uint64_t bytes = 0;                   // large_alloc
  uint64_t count = 0;                   // refill_burst: refills in the interval; gc_end: cycle count
};

struct MapView {
  uint64_t id = 0;
  int pid = 0;
  uint64_t address = 0;
  MapIdentity identity;
  bool created_seen = false;  // seen at makemap (site is its creation)
  std::optional<bool> on_stack;
  MapShape shape;
  std::array<uint64_t, kGrowthKinds> growths{};
  uint64_t evacuated_buckets = 0, growth_refills = 0, growth_bytes = 0, growth_large = 0, inserts = 0;
  double inserts_per_second = 0;
  uint64_t key_inserts = 0;  // inserts whose keys the top-K saw (decayed)
  uint64_t key_evictions = 0;
  std::vector<SpaceSaving::Entry> top_keys;
};

struct SiteTotals {
  std::array<uint64_t, kGrowthKinds> growths{};
  uint64_t evacuated_buckets = 0, growth_refills = 0, growth_bytes = 0, inserts = 0;

  SiteTotals& operator+=(const SiteTotals& o);
};

struct HotKeySeries {
  std::string map;  // site label or "other"
  std::string key;  // label, "__other__"
  uint64_t inserts = 0;
};

struct TargetMaps {
  std::vector<MapView> maps;  // most active first
  std::map<std::string, SiteTotals> sites;  // exported sites and "other"
  std::vector<HotKeySeries> hot_keys;
  // Since the target was first traced, counted for their site but not listed:
  uint64_t maps_parked = 0;  // records parked to stay within maps_per_target
  uint64_t maps_quiet = 0;   // maps that never did more than exist (MapModel::quiet), so far
};

struct KeyWindow {
  uint64_t id = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;  // when the insert probes go off again
};

// Per-window key baselines: window id -> (pid, map address, key hash) -> count at its start.
// kWindowInsertsKey stands for the map's own insert count.
inline constexpr uint64_t kWindowInsertsKey = ~uint64_t(0);
using Baselines = std::map<uint64_t, std::map<std::tuple<int, uint64_t, uint64_t>, uint64_t>>;

struct MapsSnapshot {
  std::map<uint32_t, TargetMaps> targets;
  std::shared_ptr<const std::deque<TimelineEvent>> timeline;
  uint64_t next_seq = 1;  // the seq the next event will get
  std::vector<KeyWindow> windows;
  std::shared_ptr<const Baselines> baselines;
  uint64_t kernel_map_evictions = 0;  // entries gone from the kernel table with no known end
  uint64_t kernel_key_evictions = 0;
};

class MapModel {
 public:
  explicit MapModel(MapLimits limits = {}) : limits_(limits), timeline_(std::make_shared<std::deque<TimelineEvent>>()) {}
  void set_limits(const MapLimits& limits) { limits_ = limits; }
  const MapLimits& limits() const { return limits_; }

  // A map is quiet while it has done nothing but exist: no growth but a
  // swiss map's first group (to_small), no insert seen, nothing evacuated.
  // A quiet map is counted for its site but gets no record: a service makes
  // thousands a second (request headers, decoded JSON objects), and typing,
  // reading and listing each would cost the daemon more than all the rest.
  // It is listed from the collection that sees it do more.
  static bool quiet(const ha_map_stats& stats);

  // What the reader must do for a kernel entry before update().
  struct Status {
    bool listed = false;          // the map has (or gets) a record: its shape is worth reading
    bool needs_identity = false;  // update() wants its identity: whole if listed, else its site
  };
  // New maps need their identity, as do listed maps whose types became
  // known after the model first saw them; parked and quiet maps are not
  // listed (their counters still go to their site).
  Status status(int pid, uint64_t address, const ha_map_stats& stats) const;

  // The kernel's cumulative counters of one map. `identity`, when given,
  // replaces what the model knew (its site stays); `shape` when known.
  void update(uint32_t target, int pid, uint64_t address, const ha_map_stats& stats, const MapIdentity* identity,
              const MapShape& shape, int64_t now_ms);
  // A map's final counters: its address was reused by a new map.
  void retire(uint32_t target, int pid, uint64_t address, const ha_map_stats& final_stats, int64_t now_ms);
  // The kernel's entry of the map at (pid, address) disappeared with no
  // known end (an LRU eviction): the model forgets the map too, and should
  // it come back, it is a new map counting from zero, as the kernel's is.
  void map_evicted(int pid, uint64_t address);
  // `n` more map entries evicted, of maps the model never listed or that
  // came and went between two polls.
  void maps_evicted(uint64_t n) { kernel_map_evictions_ += n; }
  // `n` hot-key entries evicted by the kernel.
  void keys_evicted(uint64_t n) { kernel_key_evictions_ += n; }
  // The process is gone: its maps go too (their counts stay in the series).
  void process_exited(int pid);

  // `delta` more inserts of one key into the map at (pid, address). A
  // parked map counts in its target's other series. False for a map the
  // model does not know (the kernel's key table knows no target) or knows
  // as quiet (it is listed at the next collection, which sees its inserts):
  // the delta is not taken, and the caller offers it again then.
  bool hot_key(int pid, uint64_t address, uint64_t key_hash, uint64_t delta, const CapturedKey& key);

  // A timeline event; map_id and site are filled from (pid, map address) when it is known.
  void event(TimelineEvent ev, uint64_t map_address);
  // Span refills of a target over the last collection, for refill bursts.
  void refills(uint32_t target, uint64_t refills_total, int64_t now_ms);

  // Starts a hot-key window: counts from now on are reported apart.
  KeyWindow open_window(int64_t now_ms, int64_t duration_ms);

  std::shared_ptr<const MapsSnapshot> publish(int64_t now_ms);

 private:
  struct Record {
    uint64_t id = 0;
    uint32_t target = 0;
    int pid = 0;
    uint64_t address = 0;
    uint64_t created_ns = 0;
    MapIdentity identity;
    uint32_t flags = 0;
    MapShape shape;
    ha_map_stats last{};  // cumulative counters as last seen
    int64_t last_active_ms = 0;
    int64_t rate_since_ms = 0;
    uint64_t rate_since_inserts = 0;
    double inserts_per_second = 0;
    std::unique_ptr<SpaceSaving> keys;  // once it has inserts
  };
  struct TargetState {
    std::map<uint64_t, Record> records;  // by id
    std::map<std::string, SiteTotals> sites;  // exported, plus "other"
    std::map<std::string, uint64_t> pending_sites;  // unexported sites' activity, for promotion
    // site -> key label -> inserts (exported), "__other__" included
    std::map<std::string, std::map<std::string, uint64_t>> hot_keys;
    uint64_t other_key_inserts = 0;  // sites without hot-key series
    uint64_t maps_parked = 0;
    uint64_t maps_quiet = 0;
    uint64_t last_refills = 0;
    int64_t last_refills_ms = 0;
    double refill_rate = 0;  // per second, smoothed
  };
  using Key = std::pair<int, uint64_t>;  // (pid, address)
  // A map the kernel counts without a record here (dropped from the
  // records over the bound, or quiet and never given one): what routing its
  // later counts needs, so that they are neither lost nor, when it shows up
  // again, counted twice from zero.
  struct Parked {
    uint32_t target = 0;
    uint64_t created_ns = 0;
    const std::string* site = nullptr;  // interned: thousands of parked maps share a few sites
    ha_map_stats last{};
    bool quiet = false;  // never listed yet (not parked for the limit): listed once it stops being quiet
  };

  Record* find(int pid, uint64_t address);
  Record& create(uint32_t target, int pid, uint64_t address, uint64_t created_ns, const MapIdentity* identity);
  void route(TargetState& t, const std::string& site, const ha_map_stats& now, const ha_map_stats& before);
  void forget(TargetState& t, uint64_t id);
  void park_least_active(TargetState& t);
  void park(Parked p, int pid, uint64_t address);
  const std::string& intern(const std::string& site);
  // Inserts per second over the last second or more.
  void update_rate(Record& r, int64_t now_ms);
  void promote(TargetState& t);
  std::string key_label(uint64_t key_hash, const std::string& decoded) const;
  void push(TimelineEvent ev);

  MapLimits limits_;
  std::map<uint32_t, TargetState> targets_;
  // (pid, address) -> the current map there, a node of its target's records.
  std::unordered_map<Key, Record*, CompositeHash> index_;
  std::unordered_map<Key, Parked, CompositeHash> parked_;  // at most kMaxParked (park())
  std::unordered_set<std::string> site_names_;  // every site a parked map had (node-based: stable)
  uint64_t next_id_ = 1;
  std::shared_ptr<std::deque<TimelineEvent>> timeline_;
  bool timeline_changed_ = true;  // since the last publish
  std::shared_ptr<const std::deque<TimelineEvent>> published_timeline_;
  uint64_t next_seq_ = 1;
  std::vector<KeyWindow> windows_;
  uint64_t next_window_ = 1;
  std::shared_ptr<Baselines> baselines_ = std::make_shared<Baselines>();
  int64_t last_decay_ms_ = 0;
  uint64_t kernel_map_evictions_ = 0;
  uint64_t kernel_key_evictions_ = 0;
};

}  // namespace hotalloc::model
