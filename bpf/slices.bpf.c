// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Slice growth (insert tier): every runtime.growslice call, aggregated per
 * append call site in the kernel. The entry gives the site, the element
 * type, the old length and capacity and the length asked for; the new
 * capacity is only decided inside growslice (nextslicecap, then rounding up
 * to a size class), so the probe on its call of mallocgc reads the bytes it
 * allocates: capacity x element size. A return probe would give the same,
 * but a RET is single-stepped and a CALL emulated.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HA_MAX_SLICE_SITES);
	__type(key, struct ha_slice_site_key);
	__type(value, struct ha_slice_site);
} slice_sites SEC(".maps");

static __always_inline void store_max(__u64 *at, __u64 v)
{
	if (v > *at)
		*at = v;
}

static __always_inline int slice_grow(struct pt_regs *ctx, enum ha_probe probe, __u64 et, __u64 old_len,
				      __u64 old_cap, __u64 new_len)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, probe, &pc))
		return 0;
	struct ha_slice_site_key key = {
		.tgid = pc.tgid, .pc = go_return_address(ctx), .caller = go_caller_return_address(ctx, 1)};
	struct ha_slice_site *s = bpf_map_lookup_elem(&slice_sites, &key);
	if (!s) {
		struct ha_slice_site init = {};
		init.elem_type = et;
		init.target_id = pc.target_id;
		init.layout_id = pc.layout_id;
		s = map_add_lookup(&slice_sites, &key, &init, HA_STAT_DROP_SLICE_TABLE_FULL, HA_STAT_SLICE_SITES_ADDED);
		if (!s)
			return 0;
	}
	/*
	 * A call site appends to one element type (generic code shares a site
	 * only between types of one size), so its size is read from the target
	 * once, not at every growth; 0 (zero-size elements, or a read that
	 * faulted) is read again.
	 */
	__u64 elem_size = s->elem_size;
	if (!elem_size)
		elem_size = s->elem_size = read_user_u64(et + pc.layout->type_size);
	__sync_fetch_and_add(&s->growths, 1);
	if (!old_cap)
		__sync_fetch_and_add(&s->from_empty, 1);
	__sync_fetch_and_add(&s->copied_bytes, old_len * elem_size);
	store_max(&s->max_new_len, new_len);
	return 0;
}

/* growslice(oldPtr unsafe.Pointer, newLen, oldCap, num int, et *_type), Go 1.20 on. */
SEC("uprobe")
int slice_growslice(struct pt_regs *ctx)
{
	__u64 new_len = GO_ARG2(ctx), num = GO_ARG4(ctx);
	return slice_grow(ctx, HA_PROBE_GROWSLICE, GO_ARG5(ctx), new_len - num, GO_ARG3(ctx), new_len);
}

/* growslice(et *_type, old slice{ptr, len, cap}, cap int), Go 1.19: cap is the length asked for. */
SEC("uprobe")
int slice_growslice_go119(struct pt_regs *ctx)
{
	return slice_grow(ctx, HA_PROBE_GROWSLICE_GO119, GO_ARG1(ctx), GO_ARG3(ctx), GO_ARG4(ctx), GO_ARG5(ctx));
}

/*
 * CALL runtime.mallocgc inside growslice: the first argument is capacity x
 * element size. The probe is in growslice's body, past its prologue, so the
 * frame-pointer chain gives the site key its entry built: growslice's own
 * return address and the one above it. Zero-size elements never get here
 * (growslice returns without allocating).
 */
SEC("uprobe")
int slice_growslice_alloc(struct pt_regs *ctx)
{
	struct probe_ctx pc;
	if (!probe_enter(ctx, HA_PROBE_GROWSLICE_ALLOC, &pc))
		return 0;
	/* The FP register is read once: the verifier refuses a ctx pointer moved to it and reused. */
	__u64 fp = GO_FP(ctx);
	struct ha_slice_site_key key = {
		.tgid = pc.tgid, .pc = go_frame_return_address(fp, 1), .caller = go_frame_return_address(fp, 2)};
	struct ha_slice_site *s = bpf_map_lookup_elem(&slice_sites, &key);
	/* No site (evicted since the entry, or the entry found no slot), or no element size (the entry could not read it). */
	if (!s || !s->elem_size) {
		stat_inc(HA_STAT_SLICE_ALLOC_UNPAIRED);
		return 0;
	}
	__u64 bytes = GO_ARG1(ctx);
	__sync_fetch_and_add(&s->alloc_bytes, bytes);
	__sync_fetch_and_add(&s->allocs, 1);
	store_max(&s->max_new_cap, bytes / s->elem_size);
	return 0;
}
