#!/usr/bin/env python3
"""`make bench`: what hotalloc costs, as ratios measured side by side in one
run. BENCHMARKS.md states the method and the goals; this writes the figures.

Every comparison runs copies of the same Go binary (a tracer attached to one
copy does not see the others) in interleaved rounds: round i runs each
variant once, in an order rotated by i, so slow phases of the machine fall on
all variants alike. A figure is the median over rounds of a per-round ratio
(or per-round cost), with the smallest and largest round as its spread.

Environment: BUILD_DIR (hotallocd, probe_sites), BENCH_QUICK=1 (a short smoke
run, results in BUILD_DIR only), BENCH_GO_VERSION (1.26), BENCH_OUT
(BUILD_DIR/bench-results.md), BENCH_DOC (BENCHMARKS.md, rewritten between its
markers by a full run; BENCH_DOC= leaves it alone).
"""

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Bpftrace, Daemon, TracefsUprobe, hits_delta, median_spread, run  # noqa: E402
import report  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
GO = os.environ.get("BENCH_GO_VERSION", "1.26")
# BUILD_DIR as the Makefile passes it: relative to the repository, or absolute.
BUILD = os.path.join(TOP, os.environ.get("BUILD_DIR") or "build")

# Sizes: (full, quick). Full runs take about 20 minutes on 2 loaded CPUs.
ROUNDS = 2 if QUICK else 7
ROUNDS_SLOW = 1 if QUICK else 3
ALLOCS = 5_000_000 if QUICK else 20_000_000
JSON_TRIPS = 20_000 if QUICK else 100_000
CACHE_OPS = 1_000_000 if QUICK else 5_000_000
MALLOCGC_ALLOCS = 100_000 if QUICK else 300_000
INSERTS = 300_000 if QUICK else 2_000_000
# Variants that single-step every insert (~12 µs each) run a tenth as many.
INSERTS_SLOW = INSERTS // 10
DUTY = os.environ.get("DUTY", "200ms/10s")
DUTY_RUN = "10s" if QUICK else "20s"
CHURN_MAPS = 50_000 if QUICK else 400_000
FLOOD_RUN = "3s" if QUICK else "10s"
SERVICES = 10
SERVICE_RATE = 50
SERVICE_WARMUP, SERVICE_MEASURE = (4, 6) if QUICK else (8, 30)
ATTACH_TRIALS = 2 if QUICK else 7


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def go_target(name):
    return subprocess.run([os.path.join(TOP, "tools", "go-build-target.sh"), name, GO], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def rounds(n, variants, body):
    """Calls body(variant) for every variant in each of n rounds, the order
    rotated each round; returns one {variant: result} per round."""
    out = []
    for i in range(n):
        order = variants[i % len(variants):] + variants[:i % len(variants)]
        out.append({v: body(v) for v in order})
    return out


def probe_sites(binary, symbol):
    text = subprocess.run([os.path.join(BUILD, "probe_sites"), binary, symbol], check=True, stdout=subprocess.PIPE,
                          text=True).stdout
    fields = dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
    return int(fields["entry"], 16), int(fields["site"], 16), text.split("instruction=", 1)[1].strip().strip('"')


class Bench:
    def __init__(self, work):
        self.work = work
        self.results = {}
        self.cleanups = []

    def copy(self, binary, name):
        path = os.path.join(self.work, name)
        shutil.copy(binary, path)
        return path

    def bpftrace(self, name, probes):
        bt = Bpftrace(self.work, name, probes)
        self.cleanups.append(bt.stop)
        return bt

    def daemon(self, name, args):
        d = Daemon(BUILD, self.work, name, args)
        self.cleanups.append(d.stop)
        return d

    # 1. The always-on tier on an allocation loop and two realistic workloads.
    def always_on(self):
        loads = {"allocloop": ALLOCS, "jsonloop": JSON_TRIPS, "mapcache": CACHE_OPS}
        bins = {w: go_target(w) for w in loads}
        untraced = {w: self.copy(bins[w], f"u_{w}") for w in loads}
        traced = {w: self.copy(bins[w], f"t_{w}") for w in loads}
        bpftraced = self.copy(bins["allocloop"], "b_allocloop")
        self.churn = self.copy(go_target("mapchurn"), "t_mapchurn")
        d = self.daemon("always-on", [a for w in loads for a in ("--exe", f"t_{w}={traced[w]}")] +
                        ["--exe", f"t_mapchurn={self.churn}"])
        self.results["daemon_ready_seconds"] = d.ready_seconds
        bt = self.bpftrace("refill", [f"{bpftraced}:runtime.(*mcache).refill"])
        for w in loads:
            run(untraced[w], loads[w] // 10)  # page cache, toolchain-independent warm-up

        def body(variant):
            w, kind = variant
            if kind == "untraced":
                return run(untraced[w], loads[w])
            if kind == "bpftrace":
                return run(bpftraced, loads[w])
            before = d.hits()
            r = run(traced[w], loads[w])
            r["hits"] = hits_delta(before, d.hits())
            return r

        variants = [(w, "untraced") for w in loads] + [(w, "hotalloc") for w in loads] + [("allocloop", "bpftrace")]
        log(f"always-on tier: {ROUNDS} rounds of {len(variants)} runs")
        rs = rounds(ROUNDS, variants, body)
        bt_counts = bt.stop()
        out = {}
        for w, n in loads.items():
            u = [r[(w, "untraced")] for r in rs]
            t = [r[(w, "hotalloc")] for r in rs]
            out[w] = {
                "n": n,
                "cpu_ratio": median_spread([b["cpu"] / a["cpu"] for a, b in zip(u, t)]),
                "wall_ratio": median_spread([b["printed"][0] / a["printed"][0] for a, b in zip(u, t)]),
                "untraced_cpu": median_spread([a["cpu"] for a in u]),
                "hits": median_spread([sum(b["hits"].values()) for b in t]),
                "hits_by_probe": {p: median_spread([b["hits"].get(p, 0) for b in t])[0]
                                  for p in sorted({p for b in t for p in b["hits"]})},
                "ns_per_hit": median_spread([(b["cpu"] - a["cpu"]) * 1e9 / max(1, sum(b["hits"].values()))
                                             for a, b in zip(u, t)]),
            }
        u = [r[("allocloop", "untraced")] for r in rs]
        b = [r[("allocloop", "bpftrace")] for r in rs]
        bhits = [bt_counts.get(x["pid"], 0) for x in b]
        out["bpftrace_refill"] = {
            "cpu_ratio": median_spread([y["cpu"] / x["cpu"] for x, y in zip(u, b)]),
            "hits": median_spread(bhits),
            "ns_per_hit": median_spread([(y["cpu"] - x["cpu"]) * 1e9 / max(1, h) for x, y, h in zip(u, b, bhits)]),
        }
        self.results["always_on"] = out
        self.always_on_daemon = d

    # 1b. What a per-allocation tracer costs: bpftrace on every mallocgc.
    def per_allocation(self):
        loop = go_target("allocloop")
        u, b = self.copy(loop, "u2_allocloop"), self.copy(loop, "b2_allocloop")
        bt = self.bpftrace("mallocgc", [f"{b}:runtime.mallocgc"])
        log(f"bpftrace on mallocgc: {ROUNDS_SLOW} rounds")
        rs = rounds(ROUNDS_SLOW, ["u", "b"], lambda v: run(u if v == "u" else b, MALLOCGC_ALLOCS))
        counts = bt.stop()
        self.results["mallocgc"] = {
            "n": MALLOCGC_ALLOCS,
            "cpu_ratio": median_spread([r["b"]["cpu"] / r["u"]["cpu"] for r in rs]),
            "hits": median_spread([counts.get(r["b"]["pid"], 0) for r in rs]),
        }

    # 4a. Daemon cost per ring-buffer event: small maps created and grown.
    def ring_events(self):
        d = self.always_on_daemon
        log(f"ring-buffer events: mapchurn {CHURN_MAPS}")
        ev0, cpu0, drops0, hits0 = d.metric_sum("hotalloc_events_total"), d.cpu(), d.drops(), d.hits()
        r = run(self.churn, CHURN_MAPS)
        hits = hits_delta(hits0, d.hits())
        events = d.metric_sum("hotalloc_events_total") - ev0
        cpu = d.cpu() - cpu0
        drops = hits_delta(drops0, d.drops())
        self.results["ring_events"] = {
            "maps": CHURN_MAPS, "events": events, "wall": r["wall"], "daemon_cpu": cpu, "rss": d.rss(),
            "hits": sum(hits.values()), "drops": drops,
        }
        d.stop()

    # 2. Insert probes: per insert, hotalloc vs bpftrace vs a bare uprobe.
    def inserts(self):
        loop = go_target("maploop")
        c = {v: self.copy(loop, f"{v}_maploop") for v in ("u", "h", "b", "te", "ts", "h2")}
        entry, site, instruction = probe_sites(c["te"], "runtime.mapassign_faststr")
        d = self.daemon("inserts", ["--map-inserts=on", "--exe", f"h_maploop={c['h']}",
                                    "--exe", f"h2_maploop={c['h2']}"])
        bt = self.bpftrace("faststr", [f"{c['b']}:runtime.mapassign_faststr"])
        te = TracefsUprobe("entry", c["te"], entry)
        ts = TracefsUprobe("site", c["ts"], site)
        self.cleanups += [te.remove, ts.remove]

        sizes = {"u": INSERTS, "h": INSERTS, "b": INSERTS_SLOW, "te": INSERTS_SLOW, "ts": INSERTS}

        def body(v):
            if v == "h":
                before = d.hits()
                r = run(c["h"], sizes[v])
                r["hits"] = hits_delta(before, d.hits()).get("mapassign_faststr", 0)
            elif v in ("te", "ts"):
                probe = te if v == "te" else ts
                before = probe.hits()
                r = run(c[v], sizes[v])
                r["hits"] = probe.hits() - before
            else:
                r = run(c[v], sizes[v])
            r["per_insert"] = r["cpu"] / sizes[v]
            return r

        log(f"insert probes: {ROUNDS} rounds of 5 runs")
        rs = rounds(ROUNDS, ["u", "h", "b", "te", "ts"], body)
        counts = bt.stop()
        for r in rs:
            r["b"]["hits"] = counts.get(r["b"]["pid"], 0)
        te.remove()
        ts.remove()

        # Per insert: CPU per insert of the variant minus the untraced run's, same round.
        self.results["inserts"] = {
            "n": INSERTS, "n_slow": INSERTS_SLOW, "instruction": instruction,
            "untraced_ns": median_spread([r["u"]["per_insert"] * 1e9 for r in rs]),
            **{v: {"n": sizes[v],
                   "ns": median_spread([(r[v]["per_insert"] - r["u"]["per_insert"]) * 1e9 for r in rs]),
                   "ratio": median_spread([r[v]["per_insert"] / r["u"]["per_insert"] for r in rs]),
                   "hits": median_spread([r[v]["hits"] for r in rs])} for v in ("h", "b", "te", "ts")},
        }
        self.flood(d, c["h"], c["h2"])
        d.stop()

    # 4b. Daemon cost per probe hit, and drops, with two processes inserting flat out.
    def flood(self, d, a, b):
        log(f"insert flood: two maploop processes for {FLOOD_RUN}")
        cpu0, drops0, hits0 = d.cpu(), d.drops(), d.hits()
        start = time.monotonic()
        procs = [subprocess.Popen([p, FLOOD_RUN], stdout=subprocess.PIPE) for p in (a, b)]
        inserts = sum(int(p.communicate()[0].split()[1]) for p in procs)
        wall = time.monotonic() - start
        hits = sum(hits_delta(hits0, d.hits()).values())
        self.results["flood"] = {
            "wall": wall, "inserts": inserts, "hits": hits, "daemon_cpu": d.cpu() - cpu0, "rss": d.rss(),
            "drops": hits_delta(drops0, d.drops()),
        }

    # 3. The duty cycle on a map-heavy loop, over a whole number of periods.
    def duty(self):
        loop = go_target("maploop")
        u, t = self.copy(loop, "u3_maploop"), self.copy(loop, "d_maploop")
        d = self.daemon("duty", [f"--map-inserts={DUTY}", "--exe", f"d_maploop={t}"])
        log(f"duty cycle {DUTY}: {ROUNDS_SLOW} rounds of {DUTY_RUN} runs")

        def body(v):
            r = run(u if v == "u" else t, DUTY_RUN)
            r["per_insert"] = r["cpu"] / r["printed"][1]
            return r

        rs = rounds(ROUNDS_SLOW, ["u", "d"], body)
        d.stop()
        self.results["duty"] = {
            "mode": DUTY, "run": DUTY_RUN,
            "cpu_ratio": median_spread([r["d"]["per_insert"] / r["u"]["per_insert"] for r in rs]),
        }

    # 5. Ten ordinary services traced: the daemon's own CPU and memory.
    def services(self):
        svc = go_target("service")
        copies = [self.copy(svc, f"svc{i}") for i in range(SERVICES)]
        d = self.daemon("services", [a for i, p in enumerate(copies) for a in ("--exe", f"svc{i}={p}")])
        seconds = SERVICE_WARMUP + SERVICE_MEASURE + 2
        log(f"{SERVICES} services at {SERVICE_RATE} requests/s for {seconds} s")
        procs = [subprocess.Popen([p, str(SERVICE_RATE), str(seconds)], stdout=subprocess.PIPE) for p in copies]
        time.sleep(SERVICE_WARMUP)
        cpu0, hits0, t0 = d.cpu(), d.hits(), time.monotonic()
        time.sleep(SERVICE_MEASURE)
        cpu, hits, wall = d.cpu() - cpu0, sum(hits_delta(hits0, d.hits()).values()), time.monotonic() - t0
        rss = d.rss()
        traced = sum(len(t["pids"]) for t in d.call("status")["targets"])
        served = [int(p.communicate()[0] or 0) for p in procs]
        d.stop()
        self.results["services"] = {
            "services": SERVICES, "rate": SERVICE_RATE, "window": wall, "daemon_cpu": cpu, "rss": rss,
            "hits": hits, "traced_pids": traced, "served_min": min(served),
        }

    # 6. From a process's start to the daemon listing it as traced.
    def attach_time(self):
        svc = go_target("service")
        out = {}
        for mode in ("exe", "discover"):
            path = self.copy(svc, f"attach_{mode}")
            args = ["--exe", f"attach_{mode}={path}"] if mode == "exe" else [
                "--discover", "--match", f"^{path}$"]
            d = self.daemon(f"attach-{mode}", args)
            times = []
            for _ in range(ATTACH_TRIALS):
                t0 = time.monotonic()
                p = subprocess.Popen([path, "20", "2"], stdout=subprocess.DEVNULL)
                seen = None
                while seen is None and time.monotonic() - t0 < 10:
                    for t in d.call("targets")["targets"]:
                        if any(pr["pid"] == p.pid for pr in t.get("processes", [])) and t["state"] == "attached":
                            seen = time.monotonic() - t0
                    time.sleep(0.005)
                times.append(seen)
                p.wait()
            d.stop()
            out[mode] = {"seconds": median_spread(times), "missed": sum(1 for t in times if t is None),
                         "trials": ATTACH_TRIALS}
        self.results["attach"] = out


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF, uprobes, tracefs)")
    for tool in ("hotallocd", "probe_sites"):
        if not os.access(os.path.join(BUILD, tool), os.X_OK):
            sys.exit(f"bench: {BUILD}/{tool} is missing: make build BUILD_DIR={BUILD}")
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "kernel": platform.release(), "cpus": os.cpu_count(), "go": GO, "quick": QUICK,
            "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="hotalloc-bench.")
    bench = Bench(work)
    try:
        bench.always_on()
        bench.ring_events()
        if not QUICK:
            bench.per_allocation()
        bench.inserts()
        bench.duty()
        bench.services()
        bench.attach_time()
    finally:
        for cleanup in reversed(bench.cleanups):
            try:
                cleanup()
            except Exception as e:  # a cleanup that fails must not hide the run's own error
                log(f"cleanup: {e}")
        shutil.rmtree(work, ignore_errors=True)
    meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    meta["minutes"] = (time.monotonic() - started) / 60
    results = {"meta": meta, **bench.results}
    out = os.environ.get("BENCH_OUT") or os.path.join(BUILD, "bench-results.md")
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    text = report.render(results)
    with open(out, "w") as f:
        f.write(text)
    print(text)
    doc = os.environ.get("BENCH_DOC", os.path.join(TOP, "BENCHMARKS.md"))
    if doc and not QUICK:
        report.update_doc(doc, text)
        log(f"results written to {out} and {doc}")
    else:
        log(f"results written to {out}")


if __name__ == "__main__":
    main()
