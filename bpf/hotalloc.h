/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The whole interface between hotalloc's BPF programs and the daemon.
 * C only, fixed-width types, explicit padding: included by every .bpf.c
 * and by daemon/probes (whose tests check the layout with offsetof).
 */
#ifndef HOTALLOC_BPF_ABI_H
#define HOTALLOC_BPF_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Go runtime constants that are the same in every supported version. */
#define HA_NUM_SPAN_CLASSES 136 /* 68 size classes x {scan, noscan} */
#define HA_TINY_SPAN_CLASS 5    /* size class 2 (16 B), noscan */
#define HA_GO_PAGE_SHIFT 13     /* 8 KiB runtime pages */

/* Map sizes. */
#define HA_MAX_LAYOUTS 256  /* distinct traced binaries at once */
#define HA_MAX_PROCS 4096   /* traced processes at once */
#define HA_RINGBUF_BYTES (256 * 1024)

/*
 * Every hooked runtime function has one program; this id indexes the
 * per-probe statistics (hotalloc_probe_hits_total{probe}).
 */
enum ha_probe {
	HA_PROBE_REFILL = 0,    /* runtime.(*mcache).refill */
	HA_PROBE_RELEASE_ALL,   /* runtime.(*mcache).releaseAll */
	HA_PROBE_ALLOC_LARGE,   /* runtime.(*mcache).allocLarge */
	HA_PROBE__COUNT,
};

/* Tracer self-accounting; every drop has a reason here. */
enum ha_stat {
	HA_STAT_DROP_RINGBUF_FULL = 0, /* an event could not be reserved */
	HA_STAT_DROP_PROC_TABLE_FULL,  /* a process found no slot in proc_counters */
	HA_STAT_READ_FAULT,            /* bpf_probe_read_user of target memory failed */
	HA_STAT_NO_LAYOUT,             /* the cookie named a layout the daemon never wrote */
	HA_STAT__COUNT,
};

/*
 * BPF cookie of every uprobe. What a program needs to know about the binary
 * (its struct layout) and the target travels with the probe itself, so a new
 * process of a traced executable is counted from its first allocation.
 */
#define HA_COOKIE_LAYOUT_SHIFT 0
#define HA_COOKIE_TARGET_SHIFT 16
#define HA_COOKIE_PROBE_SHIFT 32
#define HA_COOKIE_FLAGS_SHIFT 40
#define HA_COOKIE(layout, target, probe, flags)                               \
	(((__u64)(layout) & 0xffff) << HA_COOKIE_LAYOUT_SHIFT |               \
	 ((__u64)(target) & 0xffff) << HA_COOKIE_TARGET_SHIFT |               \
	 ((__u64)(probe) & 0xff) << HA_COOKIE_PROBE_SHIFT |                   \
	 ((__u64)(flags) & 0xff) << HA_COOKIE_FLAGS_SHIFT)

enum ha_site_flags {
	/*
	 * The probe sits on the stack-check branch (JBE / B.LS). When the
	 * branch is taken the function detours through morestack and re-runs
	 * its prologue, so that hit must be dropped to count each call once.
	 */
	HA_SITE_STACK_CHECK_BRANCH = 1 << 0,
};

/* Struct offsets of one Go runtime build, written by the daemon. */
struct ha_layout {
	__u32 valid;                          /* 0 until the daemon fills it */
	/* runtime.mcache */
	__u16 mcache_alloc;                   /* alloc [136]*mspan */
	__u16 mcache_tiny_allocs;             /* tinyAllocs uintptr */
	/* runtime.mspan */
	__u16 mspan_nelems;                   /* uintptr (<= 1.21) or uint16 */
	__u16 mspan_nelems_size;              /* 8 or 2 */
	__u16 mspan_alloc_count;              /* uint16 */
	__u16 mspan_alloc_count_before_cache; /* uint16 */
};

/* Per-process counters, per CPU; the daemon sums the CPUs. */
struct ha_proc_counters {
	__u16 target_id; /* from the cookie of the first hit */
	__u16 layout_id;
	__u32 pad;
	__u64 small_objects[HA_NUM_SPAN_CLASSES]; /* slots used, by span class */
	__u64 refills[HA_NUM_SPAN_CLASSES];       /* spans retired by refill */
	__u64 large_objects;
	__u64 large_bytes;                        /* page-rounded, as the runtime books them */
	__u64 tiny_objects;                       /* folded into tiny blocks */
	__u64 flushes;                            /* releaseAll calls */
};

struct ha_probe_stats {
	__u64 hits;            /* counted calls */
	__u64 morestack_skips; /* prologue re-runs dropped */
};

/* Ring-buffer events: rare, never one per allocation. */
enum ha_event_kind {
	HA_EVENT_PROC_NEW = 1, /* first hit from a process */
};

struct ha_event_header {
	__u32 kind;
	__u32 tgid;
	__u64 ktime_ns;
};

struct ha_event_proc_new {
	struct ha_event_header hdr;
	__u16 target_id;
	__u16 layout_id;
	__u32 pad;
};

#endif /* HOTALLOC_BPF_ABI_H */
