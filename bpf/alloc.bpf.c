// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Always-on allocation accounting, done the way the Go runtime itself books
 * runtime/metrics: when an mcache gives a span back (refill of a full span,
 * or releaseAll at a flush), the slots used while it was cached are
 * allocCount - allocCountBeforeCache. One trap per span, not per object, and
 * number for number the runtime's own /gc/heap/allocs-by-size.
 */
#include "growth.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Slots used in a span while it was cached; 0 for the runtime's emptymspan.
 * allocCount and allocCountBeforeCache are 6 bytes apart in every supported
 * version, so one 8-byte read usually fetches both (refill is the hot path).
 */
static __always_inline __s64 span_slots_used(const struct ha_layout *l, __u64 span)
{
	__u32 gap = l->mspan_alloc_count_before_cache - l->mspan_alloc_count;
	if (l->mspan_alloc_count_before_cache > l->mspan_alloc_count && gap <= 6) {
		__u64 both = read_user_u64(span + l->mspan_alloc_count);
		__s64 count = both & 0xffff;
		__s64 before = (both >> (gap * 8)) & 0xffff;
		return count - before;
	}
	__s64 count = read_user_u16(span + l->mspan_alloc_count);
	__s64 before = read_user_u16(span + l->mspan_alloc_count_before_cache);
	return count - before;
}

static __always_inline __u64 span_nelems(const struct ha_layout *l, __u64 span)
{
	if (l->mspan_nelems_size == 2)
		return read_user_u16(span + l->mspan_nelems);
	return read_user_u64(span + l->mspan_nelems);
}

/* runtime.(*mcache).refill(c *mcache, spc spanClass): c.alloc[spc] is full. */
SEC("uprobe")
int mcache_refill(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_REFILL, &pc))
		return 0;

	__u64 mcache = GO_ARG1(ctx);
	__u32 spc = GO_ARG2(ctx) & 0xff; /* spanClass is a uint8 */
	if (spc >= HA_NUM_SPAN_CLASSES)
		return 0;
	const struct ha_layout *l = pc.layout;

	struct ha_proc_counters *c = proc_counters_get(&pc);
	if (!c)
		return 0;
	c->refills[spc]++;
	struct ha_map_stats *grower = growth_window_stats(&pc, growth_window_live(ctx, &pc));
	if (grower)
		__sync_fetch_and_add(&grower->growth_refills, 1);

	__u64 span = read_user_u64(mcache + l->mcache_alloc + 8 * (__u64)spc);
	if (!span)
		return 0;
	/* &emptymspan has no slots, so it adds 0 here. */
	c->small_objects[spc] += span_slots_used(l, span);
	/*
	 * The runtime flushes tinyAllocs when it retires a real tiny span
	 * (not &emptymspan, the only span with no elements).
	 */
	if (spc == HA_TINY_SPAN_CLASS && span_nelems(l, span) != 0)
		c->tiny_objects += read_user_u64(mcache + l->mcache_tiny_allocs);
	return 0;
}

/* The span pointers of one mcache, copied in one read (too big for the stack). */
struct span_ptrs {
	__u64 p[HA_NUM_SPAN_CLASSES];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct span_ptrs);
} release_scratch SEC(".maps");

/* runtime.(*mcache).releaseAll(c *mcache): every cached span is given back. */
SEC("uprobe")
int mcache_release_all(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_RELEASE_ALL, &pc))
		return 0;

	__u64 mcache = GO_ARG1(ctx);
	const struct ha_layout *l = pc.layout;
	__u32 zero = 0;
	struct span_ptrs *spans = bpf_map_lookup_elem(&release_scratch, &zero);
	if (!spans)
		return 0;
	if (bpf_probe_read_user(spans, sizeof(*spans), (const void *)(mcache + l->mcache_alloc))) {
		stat_inc(HA_STAT_READ_FAULT);
		return 0;
	}
	struct ha_proc_counters *c = proc_counters_get(&pc);
	if (!c)
		return 0;

	for (__u32 i = 0; i < HA_NUM_SPAN_CLASSES; i++) {
		__u64 span = spans->p[i];
		if (span)
			c->small_objects[i] += span_slots_used(l, span);
	}
	c->tiny_objects += read_user_u64(mcache + l->mcache_tiny_allocs);
	c->flushes++;
	return 0;
}

/* runtime.(*mcache).allocLarge(c *mcache, size uintptr, noscan bool). */
SEC("uprobe")
int mcache_alloc_large(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_ALLOC_LARGE, &pc))
		return 0;

	__u64 size = GO_ARG2(ctx);
	__u64 page = 1ULL << HA_GO_PAGE_SHIFT;
	struct ha_proc_counters *c = proc_counters_get(&pc);
	if (!c)
		return 0;
	__u64 bytes = (size + page - 1) & ~(page - 1);
	c->large_objects++;
	c->large_bytes += bytes;
	struct growth_window *w = growth_window_live(ctx, &pc);
	/* `grower` implies `w`, but the verifier cannot see it: read the map here. */
	__u64 grown = w ? w->map : 0;
	struct ha_map_stats *grower = growth_window_stats(&pc, w);
	if (grower)
		__sync_fetch_and_add(&grower->growth_large, 1);
	if (!grower && bytes < HA_LARGE_EVENT_BYTES)
		return 0;
	struct ha_event_map *ev = map_event_reserve(&pc, HA_MEV_LARGE_ALLOC, grower ? grown : 0);
	if (!ev)
		return 0;
	ev->a = bytes;
	map_event_submit(ev);
	return 0;
}
