/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and helpers shared by every hotalloc program. Maps are __weak so each
 * .bpf.c can include this header and `bpftool gen object` merges them into
 * one set.
 */
#ifndef HOTALLOC_COMMON_BPF_H
#define HOTALLOC_COMMON_BPF_H

#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include "goabi.bpf.h"
#include "hotalloc.h"

/* Struct layouts per traced binary, indexed by the cookie's layout id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HA_MAX_LAYOUTS);
	__type(key, __u32);
	__type(value, struct ha_layout);
} layouts SEC(".maps") __weak;

/* Allocation counters per traced process (tgid), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, HA_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ha_proc_counters);
} proc_counters SEC(".maps") __weak;

/* An all-zero value to insert a new process from (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ha_proc_counters);
} zero_proc_counters SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HA_PROBE__COUNT);
	__type(key, __u32);
	__type(value, struct ha_probe_stats);
} probe_stats SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HA_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HA_RINGBUF_BYTES);
} events SEC(".maps") __weak;

/* Ring buffer flags (enum in uapi/linux/bpf.h). */
#define HA_RB_AVAIL_DATA 0
#define HA_RB_NO_WAKEUP (1ULL << 0)
#define HA_RB_FORCE_WAKEUP (1ULL << 1)

static __always_inline void stat_inc(enum ha_stat id)
{
	__u32 key = id;
	__u64 *v = bpf_map_lookup_elem(&stats, &key);
	if (v)
		(*v)++;
}

/*
 * Adds `init` under `key` unless the key is there (another CPU may have just
 * added it), counted under `added`, and returns the entry; 0, counted under
 * `full`, when the map has no room for it.
 */
static __always_inline void *map_add_lookup(void *map, const void *key, const void *init, enum ha_stat full,
					    enum ha_stat added)
{
	if (bpf_map_update_elem(map, key, init, BPF_NOEXIST) == 0)
		stat_inc(added);
	void *v = bpf_map_lookup_elem(map, key);
	if (!v)
		stat_inc(full);
	return v;
}

/* What a program learns from its cookie and the process it runs in. */
struct probe_ctx {
	__u64 cookie; /* for the site flags and fields a program reads itself */
	__u32 tgid;
	__u16 layout_id;
	__u16 target_id;
	const struct ha_layout *layout;
};

/*
 * Common entry of every program: drops the prologue's second run after a
 * morestack detour, counts the hit and resolves the binary's layout.
 * Returns false when the program should do nothing.
 */
static __always_inline bool probe_enter(struct pt_regs *ctx, enum ha_probe probe, struct probe_ctx *pc)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 key = probe;
	struct ha_probe_stats *ps = bpf_map_lookup_elem(&probe_stats, &key);

	if ((cookie >> HA_COOKIE_FLAGS_SHIFT) & HA_SITE_STACK_CHECK_BRANCH) {
		if (go_stack_check_branch_taken(ctx)) {
			if (ps)
				ps->morestack_skips++;
			return false;
		}
	}
	if (ps)
		ps->hits++;

	__u32 layout_id = (cookie >> HA_COOKIE_LAYOUT_SHIFT) & 0xffff;
	const struct ha_layout *layout = bpf_map_lookup_elem(&layouts, &layout_id);
	if (!layout || !layout->valid) {
		stat_inc(HA_STAT_NO_LAYOUT);
		return false;
	}
	pc->cookie = cookie;
	pc->tgid = bpf_get_current_pid_tgid() >> 32;
	pc->layout_id = layout_id;
	pc->target_id = (cookie >> HA_COOKIE_TARGET_SHIFT) & 0xffff;
	pc->layout = layout;
	return true;
}

/* The calling process's counters, created (and announced) on first use. */
static __always_inline struct ha_proc_counters *proc_counters_get(const struct probe_ctx *pc)
{
	struct ha_proc_counters *c = bpf_map_lookup_elem(&proc_counters, &pc->tgid);
	if (c)
		return c;

	__u32 zero = 0;
	struct ha_proc_counters *tmpl = bpf_map_lookup_elem(&zero_proc_counters, &zero);
	if (!tmpl)
		return 0;
	long err = bpf_map_update_elem(&proc_counters, &pc->tgid, tmpl, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU won the race */) {
		stat_inc(HA_STAT_DROP_PROC_TABLE_FULL);
		return 0;
	}
	c = bpf_map_lookup_elem(&proc_counters, &pc->tgid);
	if (!c)
		return 0;
	c->target_id = pc->target_id;
	c->layout_id = pc->layout_id;
	if (err)
		return c;

	struct ha_event_proc_new *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(HA_STAT_DROP_RINGBUF_FULL);
		return c;
	}
	ev->hdr.kind = HA_EVENT_PROC_NEW;
	ev->hdr.tgid = pc->tgid;
	ev->hdr.ktime_ns = bpf_ktime_get_ns();
	ev->target_id = pc->target_id;
	ev->layout_id = pc->layout_id;
	ev->pad = 0;
	/*
	 * Once per process: wake the daemon now. With flags 0 the kernel wakes
	 * it only if it has read everything before, and map events are submitted
	 * without a wakeup, so a new process would wait for the next collection.
	 */
	bpf_ringbuf_submit(ev, HA_RB_FORCE_WAKEUP);
	return c;
}

/* Reads target memory; a fault is counted and reads as zero. */
static __always_inline __u64 read_user_u64(__u64 addr)
{
	__u64 v = 0;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr)) {
		stat_inc(HA_STAT_READ_FAULT);
		return 0;
	}
	return v;
}

static __always_inline __u16 read_user_u16(__u64 addr)
{
	__u16 v = 0;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr)) {
		stat_inc(HA_STAT_READ_FAULT);
		return 0;
	}
	return v;
}

/*
 * The return address of the function being entered (or returned from):
 * at the stack-check branch and at RET, SP is what it was at entry.
 */
static __always_inline __u64 go_return_address(struct pt_regs *ctx)
{
#if GO_RETURN_ADDRESS_IN_REGISTER
	return GO_LR(ctx);
#else
	return read_user_u64(GO_SP(ctx));
#endif
}

/*
 * A return address `frames` records up the frame-pointer chain (Go keeps
 * frame pointers on amd64 and arm64), starting at the frame the FP register
 * points to: at a function's entry that is its caller's (frames = 1 gives
 * the caller's return address), in its body after the prologue its own
 * (frames = 1 gives its own return address).
 */
static __always_inline __u64 go_frame_return_address(__u64 fp, int frames)
{
	for (int i = 1; i < frames && i < 4; i++)
		fp = read_user_u64(fp);
	return fp ? read_user_u64(fp + 8) : 0;
}

static __always_inline __u64 go_caller_return_address(struct pt_regs *ctx, int frames)
{
	return go_frame_return_address(GO_FP(ctx), frames);
}

#endif /* HOTALLOC_COMMON_BPF_H */
