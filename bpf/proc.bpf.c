// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle for --discover: every exec on the host is announced, so
 * that a new Go program is attached within moments instead of at the next
 * /proc scan. Execs are rare next to allocations; the daemon decides which
 * processes matter (BPF code never decides policy).
 */
#include "common.bpf.h"

/*
 * A raw tracepoint attaches by name, without tracefs: the service's user
 * cannot read tracefs's root-only event ids, and its /sys is read-only.
 */
SEC("raw_tracepoint/sched_process_exec")
int proc_exec(void *ctx)
{
	struct ha_event_header *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(HA_STAT_DROP_RINGBUF_FULL);
		return 0;
	}
	ev->kind = HA_EVENT_EXEC;
	ev->tgid = bpf_get_current_pid_tgid() >> 32;
	ev->ktime_ns = bpf_ktime_get_ns();
	/*
	 * Wake the daemon now: with flags 0 the kernel wakes it only if it has
	 * read everything before, and map events are submitted without a wakeup,
	 * so an exec would wait for the next collection (up to a second).
	 */
	bpf_ringbuf_submit(ev, HA_RB_FORCE_WAKEUP);
	return 0;
}
