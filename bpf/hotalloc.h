/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The whole interface between hotalloc's BPF programs and the daemon.
 * C only, fixed-width types, explicit padding: included by every .bpf.c
 * and by the daemon, compiled from this one header on both sides.
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
#define HA_MAX_MAPS 16384       /* Go maps tracked at once, over all processes (LRU) */
#define HA_MAX_GROWTH_WINDOWS 4096 /* goroutines inside map growth work at once (LRU) */
#define HA_MAX_HOT_KEYS 65536   /* distinct (process, map, key) insert counters (LRU) */
#define HA_HOT_KEY_BYTES 64     /* key bytes kept per hot key; longer keys are cut */
#define HA_LARGE_EVENT_BYTES (256 * 1024) /* large allocations from this size on are timeline events */
#define HA_MAX_SLICE_SITES 16384 /* distinct (process, append call site) growth counters (LRU) */

/*
 * Every hooked runtime function has one program; this id indexes the
 * per-probe statistics (hotalloc_probe_hits_total{probe}).
 */
enum ha_probe {
	HA_PROBE_REFILL = 0,    /* runtime.(*mcache).refill */
	HA_PROBE_RELEASE_ALL,   /* runtime.(*mcache).releaseAll */
	HA_PROBE_ALLOC_LARGE,   /* runtime.(*mcache).allocLarge */
	/* Maps, always on (bpf/maps.bpf.c). */
	HA_PROBE_MAKEMAP,            /* runtime.makemap, makemap_small: the hash-seed call, or RET */
	HA_PROBE_HASH_GROW,          /* runtime.hashGrow (classic) */
	HA_PROBE_EVACUATE,           /* runtime.evacuate{,_fast32,_fast64,_faststr} (classic) */
	HA_PROBE_GROW_TO_SMALL,      /* maps.(*Map).growToSmall (swiss) */
	HA_PROBE_GROW_TO_TABLE,      /* maps.(*Map).growToTable (swiss) */
	HA_PROBE_TABLE_GROW,         /* maps.(*table).grow (swiss) */
	HA_PROBE_TABLE_SPLIT,        /* maps.(*table).split (swiss) */
	HA_PROBE_GROWTH_RET,         /* RET of growToTable, (*table).grow and split (swiss) */
	HA_PROBE_NEWARRAY,           /* runtime.newarray: bucket and group arrays */
	HA_PROBE_GC_START,           /* runtime.gcStart */
	HA_PROBE_GC_MARK_TERMINATION, /* runtime.gcMarkTermination: once per cycle */
	/* Map inserts, on demand (--map-inserts). */
	HA_PROBE_MAPASSIGN,          /* runtime.mapassign: key by pointer */
	HA_PROBE_MAPASSIGN_FAST32,
	HA_PROBE_MAPASSIGN_FAST64,
	HA_PROBE_MAPASSIGN_FAST64PTR,
	HA_PROBE_MAPASSIGN_FASTSTR,
	/* Slice growth, in the insert tier (bpf/slices.bpf.c). */
	HA_PROBE_GROWSLICE,          /* runtime.growslice, Go 1.20+ arguments */
	HA_PROBE_GROWSLICE_GO119,    /* runtime.growslice, Go 1.19 arguments */
	HA_PROBE_GROWSLICE_ALLOC,    /* growslice's calls of runtime.mallocgc: the bytes it allocates */
	HA_PROBE__COUNT,
};

/*
 * Tracer self-accounting: every drop has a reason here, and the tables the
 * kernel evicts from (LRU hashes the daemon reads) count what they add.
 */
enum ha_stat {
	HA_STAT_DROP_RINGBUF_FULL = 0, /* an event could not be reserved */
	HA_STAT_DROP_PROC_TABLE_FULL,  /* a process found no slot in proc_counters */
	HA_STAT_READ_FAULT,            /* bpf_probe_read_user of target memory failed */
	HA_STAT_NO_LAYOUT,             /* the cookie named a layout the daemon never wrote */
	HA_STAT_DROP_MAP_TABLE_FULL,   /* a Go map found no slot in map_stats */
	HA_STAT_DROP_HOT_KEY_TABLE_FULL, /* an insert's key found no slot in hot_keys */
	HA_STAT_DROP_WINDOW_TABLE_FULL, /* a growth window found no slot in growth_windows */
	HA_STAT_DROP_SLICE_TABLE_FULL, /* an append site found no slot in slice_sites */
	HA_STAT_SLICE_ALLOC_UNPAIRED,  /* growslice's allocation whose site is not in slice_sites, or has no element size (bytes not counted) */
	/*
	 * Not drops: entries added to map_stats, hot_keys and slice_sites. The
	 * kernel evicts from an LRU hash without a trace, so the daemon counts
	 * evictions as added minus held minus what it deleted itself, whatever
	 * happened between two of its reads (collect/bpf_table.h).
	 */
	HA_STAT_MAPS_ADDED,
	HA_STAT_HOT_KEYS_ADDED,
	HA_STAT_SLICE_SITES_ADDED,
	HA_STAT__COUNT,
};

/*
 * BPF cookie of every uprobe. What a program needs to know about the binary
 * (its struct layout) and the target travels with the probe itself, so a new
 * process of a traced executable is counted from its first allocation.
 */
#define HA_COOKIE_LAYOUT_SHIFT 0
#define HA_COOKIE_TARGET_SHIFT 16
/* Bits 32-39 are free: each program knows its own probe. */
#define HA_COOKIE_FLAGS_SHIFT 40
#define HA_COOKIE_SLOT_SHIFT 48
#define HA_COOKIE(layout, target, flags, slot)                                \
	(((__u64)(layout) & 0xffff) << HA_COOKIE_LAYOUT_SHIFT |               \
	 ((__u64)(target) & 0xffff) << HA_COOKIE_TARGET_SHIFT |               \
	 ((__u64)(flags) & 0xff) << HA_COOKIE_FLAGS_SHIFT |                   \
	 ((__u64)(slot) & 0xffff) << HA_COOKIE_SLOT_SHIFT)

enum ha_site_flags {
	/*
	 * The probe sits on the stack-check branch (JBE / B.LS). When the
	 * branch is taken the function detours through morestack and re-runs
	 * its prologue, so that hit must be dropped to count each call once.
	 */
	HA_SITE_STACK_CHECK_BRANCH = 1 << 0,
	/*
	 * The probe sits on a call across which the function keeps the value
	 * the program reads in a stack slot, at SP plus the cookie's slot.
	 */
	HA_SITE_STACK_SLOT = 1 << 1,
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
	/* runtime.g */
	__u16 g_stack_lo;
	__u16 g_stack_hi;
	/* Types, and map types (classic and swiss alike) */
	__u16 type_size;                      /* _type.Size_ */
	__u16 maptype_key;                    /* *_type */
	/* Classic maps (runtime.hmap); 0 in a swiss binary, whose hooks differ */
	__u16 hmap_count;                     /* int, 8 bytes */
	__u16 hmap_flags;                     /* uint8 */
	__u16 hmap_b;                         /* uint8 */
	__u16 hmap_oldbuckets;
	__u16 hmap_nevacuate;
	__u16 hmap_load_factor_num;           /* grows past count > num/2 per bucket */
	__u16 maptype_bucketsize;             /* uint16 */
	/* Swiss maps (internal/runtime/maps); 0 in a classic binary */
	__u16 swiss_table_capacity;           /* table.capacity uint16 */
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
	__u64 gc_cycles;                          /* gcMarkTermination calls */
};

struct ha_probe_stats {
	__u64 hits;            /* counted calls */
	__u64 morestack_skips; /* prologue re-runs dropped */
};

/* Ring-buffer events: rare, never one per allocation. */
enum ha_event_kind {
	HA_EVENT_PROC_NEW = 1, /* first hit from a process */
	HA_EVENT_MAP = 2,      /* struct ha_event_map: growth, GC, large allocation, map reuse */
	HA_EVENT_EXEC = 3,     /* a process called exec (--discover); the header alone */
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

/*
 * Go maps. One kind per runtime growth function: classic maps double
 * (hashGrow, B+1) or rebuild at the same size (hashGrow, too many overflow
 * buckets); swiss maps allocate their first group (growToSmall), turn the
 * group into a table (growToTable), double a table (grow) or split a
 * full-size table in two (split).
 */
enum ha_growth_kind {
	HA_GROWTH_GROW = 0,
	HA_GROWTH_SAME_SIZE,
	HA_GROWTH_TO_SMALL,
	HA_GROWTH_TO_TABLE,
	HA_GROWTH_TABLE_GROW,
	HA_GROWTH_SPLIT,
	HA_GROWTH__COUNT,
};

struct ha_map_key {
	__u32 tgid;
	__u32 pad;
	__u64 map; /* *hmap / *maps.Map in the process */
};

enum ha_map_flags {
	HA_MAP_CREATED = 1 << 0,  /* seen at makemap*: site_pc is the creation site */
	HA_MAP_ON_STACK = 1 << 1, /* the header lies in the stack of the goroutine that made or first used it */
	HA_MAP_CHECKED = 1 << 2,  /* classified as stack or heap (at creation or first sight) */
};

/* Cumulative per map, in the kernel; the daemon polls it. */
struct ha_map_stats {
	__u64 created_ns;  /* bpf_ktime of creation (or first sight); a new value means a new map */
	__u64 site_pc;     /* creation call site, else the caller of the first insert or growth */
	__u64 maptype;     /* *maptype, learnt at the first growth or insert */
	__u16 target_id;
	__u16 layout_id;
	__u32 flags;       /* enum ha_map_flags */
	__u64 growths[HA_GROWTH__COUNT];
	__u64 evacuated_buckets; /* classic: old buckets moved to the new array */
	__u64 growth_refills;    /* span refills during growth work */
	__u64 growth_bytes;      /* bytes of arrays allocated by growth work */
	__u64 growth_large;      /* large allocations during growth work */
	__u64 inserts;           /* while insert probes are attached */
	/* The BPF side's own state (the daemon ignores it): */
	__u64 open_since_ns;     /* classic: start of the growth still evacuating, else 0 */
	__u64 open_old_buckets;  /* classic: old buckets of that growth */
};

enum ha_key_kind {
	HA_KEY_BYTES = 0, /* generic mapassign: the key's memory */
	HA_KEY_U32,
	HA_KEY_U64,
	HA_KEY_PTR,
	HA_KEY_STRING,
};

struct ha_hot_key_id {
	__u32 tgid;
	__u32 pad;
	__u64 map;
	__u64 hash; /* of the key's bytes (strings: up to HA_HOT_KEY_BYTES) and length */
};

struct ha_hot_key {
	__u64 count;
	__u32 len;  /* the key's full length in bytes */
	__u8 kind;  /* enum ha_key_kind */
	__u8 pad[3];
	__u8 bytes[HA_HOT_KEY_BYTES]; /* first bytes, copied on first sight */
};

enum ha_map_event {
	HA_MEV_GROWTH_START = 1, /* a = old size (classic B / swiss capacity), b = new size */
	HA_MEV_GROWTH_END,       /* a = buckets or slots migrated, b = start ktime */
	HA_MEV_GC_START,         /* a = gcTrigger kind */
	HA_MEV_GC_END,           /* gcMarkTermination */
	HA_MEV_LARGE_ALLOC,      /* a = bytes; map set when inside growth work */
	HA_MEV_MAP_REUSED,       /* a new map at the address of one with counts; stats = its last counts */
};

struct ha_event_map {
	struct ha_event_header hdr;
	__u16 target_id;
	__u16 layout_id;
	__u8 event;       /* enum ha_map_event */
	__u8 growth_kind; /* enum ha_growth_kind */
	__u16 pad;
	__u64 map;
	__u64 a;
	__u64 b;
};

/* HA_MEV_MAP_REUSED: the last counts of the map that lived at ev.map. */
struct ha_event_map_reused {
	struct ha_event_map ev;
	struct ha_map_stats stats;
};

/*
 * Slice growth per append call site: runtime.growslice's caller (the return
 * address), counted at its entry; the bytes and new capacity at its call of
 * mallocgc (the allocation of the new backing array).
 */
struct ha_slice_site_key {
	__u32 tgid;
	__u32 pad;
	__u64 pc;     /* return address of the growslice call */
	/*
	 * One frame up: the site when the caller is a runtime wrapper
	 * (growsliceBuf, growsliceNoAlias in Go 1.26+, for slices whose first
	 * elements live on the stack), which userspace recognises by name.
	 */
	__u64 caller;
};

struct ha_slice_site {
	__u64 growths;      /* growslice calls */
	__u64 from_empty;   /* of which with capacity 0 before: slices built from nothing */
	__u64 copied_bytes; /* old length x element size, moved to the new array */
	__u64 alloc_bytes;  /* new arrays' bytes (capacity x element size) */
	__u64 allocs;       /* growths whose allocation was seen (alloc_bytes covers these) */
	__u64 elem_type;    /* *_type of the element */
	__u64 elem_size;
	__u64 max_new_len;  /* the largest length asked for */
	__u64 max_new_cap;  /* the largest capacity allocated */
	__u16 target_id;
	__u16 layout_id;
	__u32 pad;
};

#endif /* HOTALLOC_BPF_ABI_H */
