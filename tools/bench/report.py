"""The results of tools/bench/bench.py as Markdown, with each goal of
BENCHMARKS.md checked against its figure, and the results block of
BENCHMARKS.md rewritten in place."""

BEGIN, END = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"
MIB = 1024 * 1024


def spread(ms, fmt="{:.3f}", scale=1.0):
    """'median (min–max)' of a (median, min, max) triple."""
    if not ms:
        return "n/a"
    m, lo, hi = (x * scale for x in ms)
    return f"{fmt.format(m)} ({fmt.format(lo)}–{fmt.format(hi)})"


def verdict(ok):
    return "met" if ok else "**not met**"


def render(r):
    meta = r["meta"]
    lines = [
        f"Measured {meta['date']}{' (BENCH_QUICK: smoke run, too short to quote)' if meta['quick'] else ''}: "
        f"kernel {meta['kernel']}, {meta['cpus']} CPUs, Go {meta['go']}; load average "
        f"{' '.join(meta['loadavg_start'])} at the start and {' '.join(meta['loadavg_end'])} at the end "
        f"(other work shared the CPUs); {meta['minutes']:.0f} minutes.",
        "",
        "Figures: median over interleaved rounds (smallest–largest round). Ratios are traced/untraced "
        "target CPU time (user+system) unless marked wall.",
        "",
    ]
    goals = []

    a = r["always_on"]
    lines += ["### Always-on tier", "",
              "| workload | CPU ratio | wall ratio | untraced CPU | probe hits per run | cost per hit |",
              "|---|---|---|---|---|---|"]
    names = {"allocloop": "allocation loop (24-byte objects)", "jsonloop": "encoding/json round trips",
             "mapcache": "map-heavy cache (50k entries, 80% reads)"}
    for w, label in names.items():
        x = a[w]
        lines.append(f"| {label}, {x['n']:,} | **{spread(x['cpu_ratio'])}** | {spread(x['wall_ratio'])} | "
                     f"{spread(x['untraced_cpu'], '{:.2f}')} s | {x['hits'][0]:,.0f} | "
                     f"{spread(x['ns_per_hit'], '{:.0f}')} ns |")
    lines += ["", "Probe hits per run (median): " + "; ".join(
        f"{names[w].split(' (')[0]}: " + ", ".join(f"{p} {n:,.0f}" for p, n in sorted(
            a[w]["hits_by_probe"].items(), key=lambda kv: -kv[1]) if n) for w in names) + "."]
    b = a["bpftrace_refill"]
    lines += ["",
              f"Same hook, bpftrace: `uprobe:BIN:\"runtime.(*mcache).refill\" {{ @[pid] = count(); }}` on the "
              f"allocation loop costs **{spread(b['ns_per_hit'], '{:.0f}')} ns per hit** "
              f"({b['hits'][0]:,.0f} hits per run, CPU ratio {spread(b['cpu_ratio'])}); hotalloc's full program "
              f"at its emulated site, {spread(a['allocloop']['ns_per_hit'], '{:.0f}')} ns per hit.", ""]
    goals.append(("always-on, allocation loop ≤ 1.10", spread(a["allocloop"]["cpu_ratio"]),
                  a["allocloop"]["cpu_ratio"][0] <= 1.10))
    for w in ("jsonloop", "mapcache"):
        goals.append((f"always-on, {names[w]} ≤ 1.03", spread(a[w]["cpu_ratio"]), a[w]["cpu_ratio"][0] <= 1.03))

    if "mallocgc" in r:
        m = r["mallocgc"]
        lines += [f"A per-allocation tracer for comparison: bpftrace counting `runtime.mallocgc` "
                  f"({m['n']:,} allocations, {m['hits'][0]:,.0f} hits): CPU ratio **{spread(m['cpu_ratio'], '{:.0f}')}**.",
                  ""]

    i = r["inserts"]
    lines += ["### Insert probes (`runtime.mapassign_faststr`)", "",
              f"`maploop {i['n']:,}` (map[string]int, 1,000 keys); untraced "
              f"{spread(i['untraced_ns'], '{:.1f}')} ns of CPU per insert.", "",
              "| tracer on its own copy of the loop | extra CPU per insert | CPU ratio | inserts and hits per run |",
              "|---|---|---|---|",
              f"| hotalloc `--map-inserts=on` (site: `{i['instruction']}`, emulated) | **{spread(i['h']['ns'], '{:.0f}')} ns** | "
              f"{spread(i['h']['ratio'], '{:.1f}')} | {i['h'].get('n', i['n']):,} / {i['h']['hits'][0]:,.0f} |",
              f"| bpftrace `uprobe:BIN:runtime.mapassign_faststr {{ @[pid] = count(); }}` (entry, single-stepped) | "
              f"**{spread(i['b']['ns'], '{:.0f}')} ns** | {spread(i['b']['ratio'], '{:.1f}')} | {i['b'].get('n', i['n']):,} / {i['b']['hits'][0]:,.0f} |",
              f"| bare uprobe, no BPF program, at the entry | {spread(i['te']['ns'], '{:.0f}')} ns | "
              f"{spread(i['te']['ratio'], '{:.1f}')} | {i['te'].get('n', i['n']):,} / {i['te']['hits'][0]:,.0f} |",
              f"| bare uprobe, no BPF program, at hotalloc's site | {spread(i['ts']['ns'], '{:.0f}')} ns | "
              f"{spread(i['ts']['ratio'], '{:.1f}')} | {i['ts'].get('n', i['n']):,} / {i['ts']['hits'][0]:,.0f} |", ""]
    goals.append(("insert probes ≤ 1 µs per insert", f"{spread(i['h']['ns'], '{:.0f}')} ns", i["h"]["ns"][0] <= 1000))

    d = r["duty"]
    on_ratio = i["h"]["ratio"][0]
    on_ms, period_ms = (_ms(x) for x in d["mode"].split("/"))
    expected = 1 + (on_ratio - 1) * on_ms / period_ms
    lines += [f"Duty cycle `--map-inserts={d['mode']}` on the same loop, runs of {d['run']} (whole periods): "
              f"CPU per insert, traced/untraced **{spread(d['cpu_ratio'])}**; expected from the always-on ratio "
              f"above, 1 + {on_ms / period_ms:.0%} × ({on_ratio:.1f} − 1) = {expected:.2f}.", ""]

    lines += ["### The daemon", "", "| load | events/s | daemon CPU | per 100k events/s | RSS (peak) | drops |",
              "|---|---|---|---|---|---|"]
    e, f = r["ring_events"], r["flood"]
    lines.append(_load_row(f"ring-buffer events: `mapchurn {e['maps']:,}` (map creation and growth timeline)",
                           e["events"], e, f" (and {e['hits'] / e['wall']:,.0f} probe hits/s)"))
    lines.append(_load_row(f"probe hits aggregated in the kernel: two `maploop` with inserts on, {f['wall']:.0f} s",
                           f["hits"], f))
    rate = f["hits"] / f["wall"]
    s = r["services"]
    scpu = s["daemon_cpu"] / s["window"]
    lines.append(f"| {s['services']} services (`tests/targets/service`, {s['rate']} HTTP requests/s each, "
                 f"{s['traced_pids']} traced), {s['window']:.0f} s | {s['hits'] / s['window']:,.0f} probe hits/s | "
                 f"**{scpu:.2%} of a core** | | **{s['rss'][0] / MIB:.1f}** ({s['rss'][1] / MIB:.1f}) MiB | |")
    lines += ["", f"hotallocd from start to ready with 4 `--exe` targets: {r['daemon_ready_seconds']:.2f} s.", ""]
    goals.append((f"no unexplained drop at 1M events/s (reached {rate:,.0f}/s)", _drops(f["drops"]),
                  not any(f["drops"].values())))
    goals.append(("daemon ≤ 1% of a core, 10 services", f"{scpu:.2%}", scpu <= 0.01))
    goals.append(("daemon ≤ 64 MiB RSS, 10 services", f"{s['rss'][0] / MIB:.1f} MiB", s["rss"][0] <= 64 * MIB))

    lines += ["### From process start to traced", "", "| daemon mode | seconds | missed |", "|---|---|---|"]
    for mode, label in (("exe", "`--exe` (probes on the file before the process starts)"),
                        ("discover", "`--discover --match` (found by the exec tracepoint, then attached)")):
        t = r["attach"][mode]
        lines.append(f"| {label} | **{spread(t['seconds'], '{:.3f}')}** | {t['missed']} of {t['trials']} |")
    lines += ["", "### Goals", "", "| goal | measured | |", "|---|---|---|"]
    lines += [f"| {g} | {m} | {verdict(ok)} |" for g, m, ok in goals]
    return "\n".join(lines) + "\n"


def _ms(text):
    for unit, scale in (("ms", 1), ("s", 1000), ("m", 60000)):
        if text.endswith(unit) and text[:-len(unit)].isdigit():
            return int(text[:-len(unit)]) * scale
    raise ValueError(f"not a duration: {text}")


def _load_row(label, events, x, note=""):
    """A row of the daemon table: `events` over the run `x` (wall, daemon_cpu, rss, drops)."""
    rate, cpu = events / x["wall"], x["daemon_cpu"] / x["wall"]
    return (f"| {label} | {rate:,.0f}{note} | {cpu:.1%} of a core | {_per100k(cpu, rate)} | "
            f"{x['rss'][0] / MIB:.1f} ({x['rss'][1] / MIB:.1f}) MiB | {_drops(x['drops'])} |")


def _per100k(cpu, rate):
    return f"{cpu / (rate / 1e5):.2%} of a core" if rate > 0 else "n/a"


def _drops(d):
    nonzero = {k: v for k, v in d.items() if v}
    return ", ".join(f"{k} {v:,}" for k, v in nonzero.items()) if nonzero else "0"


def update_doc(path, text):
    """Replaces the block between the markers of BENCHMARKS.md."""
    doc = open(path).read()
    head, sep, rest = doc.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"bench: {path} has no {BEGIN} ... {END} block")
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + text + END + tail)


if __name__ == "__main__":
    # report.py RESULTS.json [BENCHMARKS.md]: renders a run's raw figures again
    # (after a change to this file), optionally into the document.
    import json
    import sys

    rendered = render(json.load(open(sys.argv[1])))
    if len(sys.argv) > 2:
        update_doc(sys.argv[2], rendered)
    print(rendered, end="")
