/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go maps as the BPF programs see them: per-map counters, and the growth
 * windows that tie allocations to the map whose growth caused them.
 *
 * A growth window opens when a goroutine enters a map growth function
 * (hashGrow, evacuate, swiss growToSmall/growToTable/grow/split). It is keyed
 * by goroutine (g, from R14), not by thread, since goroutines move between
 * threads. It records where the growth function's frame sits: its depth
 * below the top of the goroutine's stack and the word at its base (the
 * return address on amd64). An allocation probe on the same goroutine is
 * inside the growth work exactly while that frame is live: the stack pointer
 * is below it and the word is unchanged. Depths survive stack copying (the
 * runtime moves the used part keeping its distance from stack.hi), and no
 * return probe is needed to close the window: a stale one fails the check
 * and is dropped at the next allocation. Swiss episodes are the exception:
 * their window stays until the growth function's RET reports its end.
 */
#ifndef HOTALLOC_GROWTH_BPF_H
#define HOTALLOC_GROWTH_BPF_H

#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HA_MAX_MAPS);
	__type(key, struct ha_map_key);
	__type(value, struct ha_map_stats);
} map_stats SEC(".maps") __weak;

struct growth_window_key {
	__u32 tgid;
	__u32 pad;
	__u64 g;
};

struct growth_window {
	__u64 map;
	__u64 depth;    /* g.stack.hi minus SP at the growth function's entry */
	__u64 tag;      /* the word at that SP */
	__u64 start_ns; /* swiss: when the growth began, for its end event */
	__u64 old_size; /* swiss: capacity before */
	__u8 kind;      /* enum ha_growth_kind */
	__u8 open;      /* swiss: an episode whose RET has not been seen */
	__u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HA_MAX_GROWTH_WINDOWS);
	__type(key, struct growth_window_key);
	__type(value, struct growth_window);
} growth_windows SEC(".maps") __weak;

/*
 * Timeline events are rare but can come in bursts (a program building many
 * small maps): wake the daemon only when the buffer fills up; it drains at
 * every collection anyway.
 */
static __always_inline __u64 ringbuf_wakeup_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&events, HA_RB_AVAIL_DATA);
	return avail > HA_RINGBUF_BYTES / 2 ? HA_RB_FORCE_WAKEUP : HA_RB_NO_WAKEUP;
}

/*
 * A map event of `size` bytes (struct ha_event_map, or a struct that starts
 * with one) with its header filled in, or 0 (counted) when the buffer is full.
 */
static __always_inline struct ha_event_map *map_event_reserve_size(const struct probe_ctx *pc, __u8 event,
								   __u64 map, const __u64 size)
{
	struct ha_event_map *ev = bpf_ringbuf_reserve(&events, size, 0);
	if (!ev) {
		stat_inc(HA_STAT_DROP_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->hdr.kind = HA_EVENT_MAP;
	ev->hdr.tgid = pc->tgid;
	ev->hdr.ktime_ns = bpf_ktime_get_ns();
	ev->target_id = pc->target_id;
	ev->layout_id = pc->layout_id;
	ev->event = event;
	ev->map = map;
	return ev;
}

#define map_event_reserve(pc, event, map) map_event_reserve_size(pc, event, map, sizeof(struct ha_event_map))

static __always_inline void map_event_submit(struct ha_event_map *ev)
{
	bpf_ringbuf_submit(ev, ringbuf_wakeup_flags());
}

static __always_inline __u64 g_stack_hi(const struct ha_layout *l, __u64 g)
{
	return read_user_u64(g + l->g_stack_hi);
}

/*
 * Whether a map header lies in the calling goroutine's stack: escape
 * analysis kept it off the heap (the runtime's confirmation of what
 * `go build -gcflags=-m` says).
 */
static __always_inline __u32 map_place_flags(struct pt_regs *ctx, const struct ha_layout *l, __u64 map)
{
	__u64 g = GO_G(ctx);
	__u64 lo = read_user_u64(g + l->g_stack_lo);
	__u64 hi = read_user_u64(g + l->g_stack_hi);
	return HA_MAP_CHECKED | (map >= lo && map < hi ? HA_MAP_ON_STACK : 0);
}

/*
 * Per-map counters, created on first sight: a map made before hotalloc
 * attached, or one on a stack (no makemap call). Its site is then the
 * return address `callers` frames up (0: the probed function's own); it is
 * read only then, since a user-memory read is a large part of an insert
 * probe's cost.
 */
static __always_inline struct ha_map_stats *map_stats_get(struct pt_regs *ctx, const struct probe_ctx *pc,
							  __u64 map, int callers, __u64 maptype)
{
	struct ha_map_key key = {.tgid = pc->tgid, .map = map};
	struct ha_map_stats *st = bpf_map_lookup_elem(&map_stats, &key);
	if (st) {
		if (!st->maptype && maptype)
			st->maptype = maptype;
		return st;
	}
	struct ha_map_stats init = {};
	init.created_ns = bpf_ktime_get_ns();
	init.site_pc = callers ? go_caller_return_address(ctx, callers) : go_return_address(ctx);
	init.maptype = maptype;
	init.target_id = pc->target_id;
	init.layout_id = pc->layout_id;
	init.flags = map_place_flags(ctx, pc->layout, map);
	return map_add_lookup(&map_stats, &key, &init, HA_STAT_DROP_MAP_TABLE_FULL, HA_STAT_MAPS_ADDED);
}

/*
 * Opens (or moves) the calling goroutine's growth window onto `map`. A swiss
 * episode (`open`) stays until its RET reports it, with its start time and
 * the capacity before (`old_size`).
 */
static __always_inline bool growth_window_open(struct pt_regs *ctx, const struct probe_ctx *pc, __u64 map,
					       __u8 kind, bool open, __u64 old_size)
{
	__u64 g = GO_G(ctx);
	__u64 sp = GO_SP(ctx);
	struct growth_window_key key = {.tgid = pc->tgid, .g = g};
	struct growth_window w = {};
	w.map = map;
	w.depth = g_stack_hi(pc->layout, g) - sp;
	w.tag = read_user_u64(sp);
	w.kind = kind;
	if (open) {
		w.open = 1;
		w.start_ns = bpf_ktime_get_ns();
		w.old_size = old_size;
	}
	if (bpf_map_update_elem(&growth_windows, &key, &w, BPF_ANY)) {
		stat_inc(HA_STAT_DROP_WINDOW_TABLE_FULL);
		return false;
	}
	return true;
}

/*
 * The growth window whose work the calling goroutine is inside, or 0. Called
 * from allocation probes; costs one hash lookup when no growth is running.
 */
static __always_inline struct growth_window *growth_window_live(struct pt_regs *ctx, const struct probe_ctx *pc)
{
	__u64 g = GO_G(ctx);
	struct growth_window_key key = {.tgid = pc->tgid, .g = g};
	struct growth_window *w = bpf_map_lookup_elem(&growth_windows, &key);
	if (!w)
		return 0;
	__u64 base = g_stack_hi(pc->layout, g) - w->depth;
	if (GO_SP(ctx) >= base || read_user_u64(base) != w->tag) {
		/* Swiss episodes stay until their RET reports them. */
		if (!w->open)
			bpf_map_delete_elem(&growth_windows, &key);
		return 0;
	}
	return w;
}

/* The counters of the map whose growth work `w` is (0: none, or evicted). */
static __always_inline struct ha_map_stats *growth_window_stats(const struct probe_ctx *pc,
								const struct growth_window *w)
{
	if (!w)
		return 0;
	struct ha_map_key mk = {.tgid = pc->tgid, .map = w->map};
	return bpf_map_lookup_elem(&map_stats, &mk);
}

#endif /* HOTALLOC_GROWTH_BPF_H */
