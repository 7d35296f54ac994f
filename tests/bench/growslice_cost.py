#!/usr/bin/env python3
"""What the growslice probes (the insert tier) cost a target, as a ratio
measured side by side: tests/targets/slicegrow builds N slices of 16 elements
from nothing (five runtime.growslice calls each) and times itself, while one
hotallocd traces it with the insert tier switched off and on in alternation.
The same pairs time N map inserts (one mapassign probe each), the tier's
other probe, as a reference measured under the same load: a trap costs more
on a busy machine, where its return to user space is a chance to be
preempted.

usage (root): tests/bench/growslice_cost.py BUILD_DIR [GO_VERSION] [N] [PAIRS]
Prints the median time per growth off and on, their ratio, and the kernel's
own run time per growslice probe hit (BPF run-time stats).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(root, "tools", "bench"))
from harness import Daemon  # noqa: E402

build = os.path.abspath(sys.argv[1])
version = sys.argv[2] if len(sys.argv) > 2 else "1.26"
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200000
pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 7
binary = subprocess.run([f"{root}/tools/go-build-target.sh", "slicegrow", version], check=True,
                        capture_output=True, text=True).stdout.split()[-1]

prog = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
pid = int(prog.stdout.readline().split()[1])


def ask(line):
    prog.stdin.write(line + "\n")
    prog.stdin.flush()
    return json.loads(prog.stdout.readline())


def run():
    r = ask(f"small {n}")
    m = ask(f"map {n}")["no_hint"]
    return r["ns"] / r["growths"], m["ns"] / m["len"]


daemon = None
work = tempfile.mkdtemp(prefix="hotalloc-growslice-")  # the daemon's socket and log
try:
    daemon = Daemon(build, work, "growslice", ["--pid", str(pid), "--map-inserts=off"])
    run()  # warm up
    times = {"off": [], "on": []}
    inserts = {"off": [], "on": []}
    for _ in range(pairs):
        for mode in ("off", "on"):
            daemon.call("map_inserts", mode=mode)
            growth, insert = run()
            times[mode].append(growth)
            inserts[mode].append(insert)
    daemon.call("map_inserts", mode="off")

    def metric(name, probe):
        # One series: metric_sum sums the lines that start with its argument
        # and a space, here only that series' line (0 when it is absent).
        return daemon.metric_sum(f'{name}{{probe="{probe}"}}')

    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"go {version}, {n} slices x 16 appends, {pairs} alternating pairs")
    print(f"per growth: insert tier off {off:.0f} ns, on {on:.0f} ns, ratio {on / off:.2f}, "
          f"added {on - off:.0f} ns")
    ioff, ion = statistics.median(inserts["off"]), statistics.median(inserts["on"])
    print(f"per map insert (reference, one mapassign probe): off {ioff:.0f} ns, on {ion:.0f} ns, "
          f"added {ion - ioff:.0f} ns")
    print(f"load average during the run: {os.getloadavg()[0]:.1f}")
    for probe in ("growslice", "growslice_go119", "growslice_alloc"):
        hits = metric("hotalloc_probe_hits_total", probe)
        if hits:
            secs = metric("hotalloc_bpf_prog_run_seconds_total", probe)
            print(f"{probe}: {int(hits)} hits, BPF program {1e9 * secs / hits:.0f} ns per hit")
finally:
    if daemon:
        daemon.stop()
    shutil.rmtree(work, ignore_errors=True)
    prog.stdin.write("quit\n")
    prog.stdin.flush()
    prog.wait()
