// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go maps: creation, growth and evacuation (always on), GC cycles, and
 * inserts with their keys (on demand). Counters aggregate in map_stats and
 * hot_keys; the ring buffer carries only growth episodes, GC cycles and map
 * address reuse.
 */
#include "growth.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Classic tophash markers (runtime/map.go, the same in 1.19–1.23). */
#define TOPHASH_EVACUATED_X 2
#define TOPHASH_EVACUATED_EMPTY 4
#define HMAP_SAME_SIZE_GROW 8 /* hmap.flags */
#define CLASSIC_BUCKET_SLOTS 8
/* advanceEvacuationMark looks at most this many buckets ahead. */
#define EVACUATION_MARK_LOOKAHEAD 1024

static __always_inline bool any_counts(const struct ha_map_stats *st)
{
	__u64 n = st->inserts | st->evacuated_buckets;
	for (int k = 0; k < HA_GROWTH__COUNT; k++)
		n |= st->growths[k];
	return n != 0;
}

/*
 * runtime.makemap / makemap_small, where the new map is made: at the call
 * that seeds its hash (HA_SITE_STACK_SLOT: the map in a stack slot, the
 * creation site one frame up), or at a RET (the map is the result and [SP]
 * the creation site). An address that held a map with counts belongs to a
 * new map now: the old one's last counts go to the daemon first.
 */
SEC("uprobe")
int map_created(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_MAKEMAP, &pc))
		return 0;
	__u64 map, site;
	if ((pc.cookie >> HA_COOKIE_FLAGS_SHIFT) & HA_SITE_STACK_SLOT) {
		map = read_user_u64(GO_SP(ctx) + ((pc.cookie >> HA_COOKIE_SLOT_SHIFT) & 0xffff));
		site = go_caller_return_address(ctx, 1);
	} else {
		map = GO_ARG1(ctx);
		site = go_return_address(ctx);
	}
	if (!map)
		return 0;
	struct ha_map_key key = {.tgid = pc.tgid, .map = map};
	struct ha_map_stats *old = bpf_map_lookup_elem(&map_stats, &key);
	if (old && any_counts(old)) {
		struct ha_event_map *ev =
			map_event_reserve_size(&pc, HA_MEV_MAP_REUSED, map, sizeof(struct ha_event_map_reused));
		if (ev) {
			((struct ha_event_map_reused *)ev)->stats = *old;
			map_event_submit(ev);
		}
	}
	struct ha_map_stats st = {};
	st.created_ns = bpf_ktime_get_ns();
	st.site_pc = site;
	st.target_id = pc.target_id;
	st.layout_id = pc.layout_id;
	/* makemap gets a stack header from the compiler for non-escaping hinted maps. */
	st.flags = HA_MAP_CREATED | map_place_flags(ctx, pc.layout, map);
	if (bpf_map_update_elem(&map_stats, &key, &st, BPF_ANY))
		stat_inc(HA_STAT_DROP_MAP_TABLE_FULL);
	else if (!old)
		stat_inc(HA_STAT_MAPS_ADDED);
	return 0;
}

static __always_inline void growth_start_event(const struct probe_ctx *pc, __u64 map, __u8 kind, __u64 old_size,
					       __u64 new_size)
{
	struct ha_event_map *ev = map_event_reserve(pc, HA_MEV_GROWTH_START, map);
	if (!ev)
		return;
	ev->growth_kind = kind;
	ev->a = old_size;
	ev->b = new_size;
	map_event_submit(ev);
}

static __always_inline void growth_end_event(const struct probe_ctx *pc, __u64 map, __u8 kind, __u64 migrated,
					     __u64 start_ns)
{
	struct ha_event_map *ev = map_event_reserve(pc, HA_MEV_GROWTH_END, map);
	if (!ev)
		return;
	ev->growth_kind = kind;
	ev->a = migrated;
	ev->b = start_ns;
	map_event_submit(ev);
}

/* Closes a classic episode whose end was not seen (its last evacuation moved too many marks at once). */
static __always_inline void classic_close_open(const struct probe_ctx *pc, struct ha_map_stats *st, __u64 map)
{
	if (!st->open_since_ns)
		return;
	growth_end_event(pc, map, HA_GROWTH__COUNT, st->open_old_buckets, st->open_since_ns);
	st->open_since_ns = 0;
}

/*
 * runtime.hashGrow(t *maptype, h *hmap): called on inserting a new key when
 * the map is over its load factor (it doubles) or has too many overflow
 * buckets (it rebuilds at the same size); the decision repeats the
 * runtime's overLoadFactor(count+1, B).
 */
SEC("uprobe")
int classic_hash_grow(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_HASH_GROW, &pc))
		return 0;
	const struct ha_layout *l = pc.layout;
	__u64 t = GO_ARG1(ctx), h = GO_ARG2(ctx);
	__u64 count = read_user_u64(h + l->hmap_count);
	__u8 b = 0;
	if (bpf_probe_read_user(&b, 1, (const void *)(h + l->hmap_b)))
		stat_inc(HA_STAT_READ_FAULT);
	b &= 63;
	__u64 n = count + 1;
	bool over = n > CLASSIC_BUCKET_SLOTS && n > l->hmap_load_factor_num * ((1ULL << b) / 2);
	__u8 kind = over ? HA_GROWTH_GROW : HA_GROWTH_SAME_SIZE;

	/* hashGrow is reached from mapassign*, whose caller inserted. */
	struct ha_map_stats *st = map_stats_get(ctx, &pc, h, 1, t);
	if (!st)
		return 0;
	classic_close_open(&pc, st, h);
	st->growths[kind]++;
	st->open_since_ns = bpf_ktime_get_ns();
	st->open_old_buckets = 1ULL << b;
	growth_start_event(&pc, h, kind, b, over ? b + 1 : b);
	growth_window_open(ctx, &pc, h, kind, false, 0);
	return 0;
}

struct evac_scan {
	__u64 oldbuckets;
	__u64 bucketsize;
	__u64 next;    /* first bucket not yet known to be evacuated */
	__u64 stop;    /* where advanceEvacuationMark stops looking */
};

/*
 * The scan's state lives in a map value rather than on the stack: the
 * verifier then treats `next` as unknown in each step and checks the
 * callback once, instead of once per possible value.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct evac_scan);
} evac_scratch SEC(".maps");

static __always_inline bool bucket_evacuated(__u64 bucket)
{
	__u8 top = 0;
	if (bpf_probe_read_user(&top, 1, (const void *)bucket))
		return false;
	return top >= TOPHASH_EVACUATED_X && top <= TOPHASH_EVACUATED_EMPTY;
}

/* bpf_loop's context must be on the stack: it only points at the map value. */
struct evac_scan_ref {
	struct evac_scan *s;
};

static long evac_scan_step(__u64 i, void *arg)
{
	struct evac_scan *s = ((struct evac_scan_ref *)arg)->s;
	if (s->next >= s->stop || !bucket_evacuated(s->oldbuckets + s->next * s->bucketsize))
		return 1;
	s->next++;
	return 0;
}

/*
 * runtime.evacuate*(t, h, oldbucket): moves one old bucket (if not moved
 * already), then, when oldbucket is the evacuation mark, advances the mark
 * over the buckets already moved; the growth ends when the mark reaches the
 * old bucket count. That outcome is decided here, before the call, by
 * reading the same tophash markers the runtime reads.
 */
SEC("uprobe")
int classic_evacuate(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_EVACUATE, &pc))
		return 0;
	const struct ha_layout *l = pc.layout;
	__u64 t = GO_ARG1(ctx), h = GO_ARG2(ctx), oldbucket = GO_ARG3(ctx);
	__u8 flags = 0, b = 0;
	bpf_probe_read_user(&flags, 1, (const void *)(h + l->hmap_flags));
	bpf_probe_read_user(&b, 1, (const void *)(h + l->hmap_b));
	b &= 63;
	__u64 oldbuckets = read_user_u64(h + l->hmap_oldbuckets);
	__u64 nevacuate = read_user_u64(h + l->hmap_nevacuate);
	__u16 bucketsize = 0;
	bpf_probe_read_user(&bucketsize, 2, (const void *)(t + l->maptype_bucketsize));
	if (!oldbuckets || !bucketsize)
		return 0;
	__u64 noldbuckets = (flags & HMAP_SAME_SIZE_GROW) || !b ? 1ULL << b : 1ULL << (b - 1);

	struct ha_map_stats *st = map_stats_get(ctx, &pc, h, 2, t);
	if (!st)
		return 0;
	if (!bucket_evacuated(oldbuckets + oldbucket * bucketsize))
		st->evacuated_buckets++;
	growth_window_open(ctx, &pc, h, HA_GROWTH__COUNT, false, 0);
	if (oldbucket != nevacuate)
		return 0;

	__u32 zero = 0;
	struct evac_scan *s = bpf_map_lookup_elem(&evac_scratch, &zero);
	if (!s)
		return 0;
	s->oldbuckets = oldbuckets;
	s->bucketsize = bucketsize;
	s->next = nevacuate + 1;
	s->stop = s->next + EVACUATION_MARK_LOOKAHEAD - 1;
	if (s->stop > noldbuckets)
		s->stop = noldbuckets;
	struct evac_scan_ref ref = {.s = s};
	bpf_loop(EVACUATION_MARK_LOOKAHEAD, evac_scan_step, &ref, 0);
	if (s->next != noldbuckets)
		return 0;
	__u64 since = st->open_since_ns;
	st->open_since_ns = 0;
	growth_end_event(&pc, h, (flags & HMAP_SAME_SIZE_GROW) ? HA_GROWTH_SAME_SIZE : HA_GROWTH_GROW,
			 noldbuckets, since);
	return 0;
}

/*
 * Swiss growth functions: the episode runs until the function's RET
 * (swiss_growth_ret); to_small allocates one group and is only counted.
 * `table` (grow, split) gives the capacity before; `callers` is how many
 * frames up the inserting code is.
 */
static __always_inline int swiss_growth(struct pt_regs *ctx, enum ha_probe probe, __u8 kind, __u64 map,
					__u64 table, __u64 old_size, __u64 new_size, int callers)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, probe, &pc))
		return 0;
	if (table) {
		__u16 cap = 0;
		if (bpf_probe_read_user(&cap, 2, (const void *)(table + pc.layout->swiss_table_capacity)))
			stat_inc(HA_STAT_READ_FAULT);
		old_size = cap;
		if (kind == HA_GROWTH_SPLIT)
			new_size = 2 * old_size;
	}
	/* Every swiss growth function takes the map type second. */
	struct ha_map_stats *st = map_stats_get(ctx, &pc, map, callers, GO_ARG2(ctx));
	if (!st)
		return 0;
	st->growths[kind]++;
	bool episode = kind != HA_GROWTH_TO_SMALL;
	if (growth_window_open(ctx, &pc, map, kind, episode, old_size) && episode)
		growth_start_event(&pc, map, kind, old_size, new_size);
	return 0;
}

/* maps.(*Map).growToSmall(m *Map, typ): the first insert into an empty map. */
SEC("uprobe")
int swiss_grow_to_small(struct pt_regs *ctx)
{
	return swiss_growth(ctx, HA_PROBE_GROW_TO_SMALL, HA_GROWTH_TO_SMALL, GO_ARG1(ctx), 0, 0, 8, 1);
}

/* maps.(*Map).growToTable(m *Map, typ): the 9th key; the small group becomes a 16-slot table. */
SEC("uprobe")
int swiss_grow_to_table(struct pt_regs *ctx)
{
	return swiss_growth(ctx, HA_PROBE_GROW_TO_TABLE, HA_GROWTH_TO_TABLE, GO_ARG1(ctx), 0, 8, 16, 1);
}

/* maps.(*table).grow(t, typ, m *Map, newCapacity uint16), reached through rehash. */
SEC("uprobe")
int swiss_table_grow(struct pt_regs *ctx)
{
	return swiss_growth(ctx, HA_PROBE_TABLE_GROW, HA_GROWTH_TABLE_GROW, GO_ARG3(ctx), GO_ARG1(ctx), 0,
			    GO_ARG4(ctx) & 0xffff, 2);
}

/* maps.(*table).split(t, typ, m *Map): a full-size table becomes two, reached through rehash. */
SEC("uprobe")
int swiss_table_split(struct pt_regs *ctx)
{
	return swiss_growth(ctx, HA_PROBE_TABLE_SPLIT, HA_GROWTH_SPLIT, GO_ARG3(ctx), GO_ARG1(ctx), 0, 0, 2);
}

/* RET instructions of growToTable, (*table).grow and split: the episode is over. */
SEC("uprobe")
int swiss_growth_ret(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_GROWTH_RET, &pc))
		return 0;
	struct growth_window_key key = {.tgid = pc.tgid, .g = GO_G(ctx)};
	struct growth_window *w = bpf_map_lookup_elem(&growth_windows, &key);
	if (!w || !w->open)
		return 0;
	growth_end_event(&pc, w->map, w->kind, w->old_size, w->start_ns);
	bpf_map_delete_elem(&growth_windows, &key);
	return 0;
}

/*
 * runtime.newarray(typ, n): allocates bucket arrays (classic makeBucketArray)
 * and group arrays (swiss newGroups); inside growth work, they are what the
 * growth costs.
 */
SEC("uprobe")
int map_newarray(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_NEWARRAY, &pc))
		return 0;
	struct ha_map_stats *st = growth_window_stats(&pc, growth_window_live(ctx, &pc));
	if (!st)
		return 0;
	__u64 size = read_user_u64(GO_ARG1(ctx) + pc.layout->type_size);
	__sync_fetch_and_add(&st->growth_bytes, size * GO_ARG2(ctx));
	return 0;
}

static __always_inline int gc_event(struct pt_regs *ctx, enum ha_probe probe, __u8 event)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, probe, &pc))
		return 0;
	if (event == HA_MEV_GC_END) {
		struct ha_proc_counters *c = proc_counters_get(&pc);
		if (c)
			c->gc_cycles++;
	}
	struct ha_event_map *ev = map_event_reserve(&pc, event, 0);
	if (!ev)
		return 0;
	ev->a = event == HA_MEV_GC_START ? GO_ARG1(ctx) : 0;
	map_event_submit(ev);
	return 0;
}

/* runtime.gcStart(trigger): may return without starting a cycle. */
SEC("uprobe")
int gc_start(struct pt_regs *ctx)
{
	return gc_event(ctx, HA_PROBE_GC_START, HA_MEV_GC_START);
}

/* runtime.gcMarkTermination: exactly once per cycle. */
SEC("uprobe")
int gc_mark_termination(struct pt_regs *ctx)
{
	return gc_event(ctx, HA_PROBE_GC_MARK_TERMINATION, HA_MEV_GC_END);
}

/* ---- inserts (on demand) ------------------------------------------------ */

static __always_inline __u64 mix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HA_MAX_HOT_KEYS);
	__type(key, struct ha_hot_key_id);
	__type(value, struct ha_hot_key);
} hot_keys SEC(".maps");

/*
 * One insert into map m. The key's identity is a hash of its first
 * HA_HOT_KEY_BYTES bytes and its length; the bytes are kept on first sight.
 */
static __always_inline int map_insert(struct pt_regs *ctx, enum ha_probe probe, __u8 kind)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, probe, &pc))
		return 0;
	const struct ha_layout *l = pc.layout;
	__u64 t = GO_ARG1(ctx), m = GO_ARG2(ctx);
	struct ha_map_stats *st = map_stats_get(ctx, &pc, m, 0, t);
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->inserts, 1);

	struct ha_hot_key val = {};
	val.kind = kind;
	__u64 src = GO_ARG3(ctx);
	__u64 len;
	switch (kind) {
	case HA_KEY_U32:
		len = 4;
		*(__u32 *)val.bytes = (__u32)src;
		break;
	case HA_KEY_U64:
	case HA_KEY_PTR:
		len = 8;
		*(__u64 *)val.bytes = src;
		break;
	case HA_KEY_STRING:
		len = GO_ARG4(ctx);
		break;
	default:
		len = read_user_u64(read_user_u64(t + l->maptype_key) + l->type_size);
	}
	if (kind == HA_KEY_STRING || kind == HA_KEY_BYTES) {
		__u32 n = len < HA_HOT_KEY_BYTES ? len : HA_HOT_KEY_BYTES;
		if (n > HA_HOT_KEY_BYTES)
			n = HA_HOT_KEY_BYTES;
		if (n && bpf_probe_read_user(val.bytes, n, (const void *)src))
			stat_inc(HA_STAT_READ_FAULT);
	}
	val.len = len;
	/* Only the words that hold key bytes: the rest are zero, and the length is in the seed. */
	__u64 h = len * 0x9e3779b97f4a7c15ULL + kind;
	const __u64 *words = (const __u64 *)val.bytes;
	for (int i = 0; i < HA_HOT_KEY_BYTES / 8 && 8 * i < len; i++)
		h = mix64(h ^ words[i]);

	struct ha_hot_key_id id = {.tgid = pc.tgid, .map = m, .hash = h};
	struct ha_hot_key *hk = bpf_map_lookup_elem(&hot_keys, &id);
	if (!hk)
		hk = map_add_lookup(&hot_keys, &id, &val, HA_STAT_DROP_HOT_KEY_TABLE_FULL, HA_STAT_HOT_KEYS_ADDED);
	if (hk)
		__sync_fetch_and_add(&hk->count, 1);
	return 0;
}

/* runtime.mapassign(t, m, key unsafe.Pointer): any key type, by pointer. */
SEC("uprobe")
int map_assign(struct pt_regs *ctx)
{
	return map_insert(ctx, HA_PROBE_MAPASSIGN, HA_KEY_BYTES);
}

/* runtime.mapassign_fast32(t, m, key uint32). */
SEC("uprobe")
int map_assign_fast32(struct pt_regs *ctx)
{
	return map_insert(ctx, HA_PROBE_MAPASSIGN_FAST32, HA_KEY_U32);
}

/* runtime.mapassign_fast64(t, m, key uint64). */
SEC("uprobe")
int map_assign_fast64(struct pt_regs *ctx)
{
	return map_insert(ctx, HA_PROBE_MAPASSIGN_FAST64, HA_KEY_U64);
}

/* runtime.mapassign_fast64ptr(t, m, key unsafe.Pointer). */
SEC("uprobe")
int map_assign_fast64ptr(struct pt_regs *ctx)
{
	return map_insert(ctx, HA_PROBE_MAPASSIGN_FAST64PTR, HA_KEY_PTR);
}

/* runtime.mapassign_faststr(t, m, key string): ptr and length in two registers. */
SEC("uprobe")
int map_assign_faststr(struct pt_regs *ctx)
{
	return map_insert(ctx, HA_PROBE_MAPASSIGN_FASTSTR, HA_KEY_STRING);
}
