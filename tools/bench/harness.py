"""Building blocks of `make bench` (tools/bench/bench.py): runs of a Go
program with its own CPU time, a hotallocd under test, bpftrace and tracefs
uprobes as the comparison tracers, and the statistics of ratios.

Why CPU time: the machines that run this are shared, so a run's wall time
depends on what else is scheduled. A uprobe's cost (the trap, the BPF
program) is charged to the traced thread as system time, so the target's own
user+system time (wait4's rusage) measures what tracing costs it, and is far
less disturbed by other load. Wall times are kept as a second figure.
"""

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import time
import urllib.request

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def median_spread(values):
    """(median, min, max) of a list of numbers."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def run(path, *args, env=None):
    """Runs a program to its end: its CPU seconds (user+system, threads
    included), wall seconds, and the numbers it printed."""
    start = time.monotonic()
    proc = subprocess.Popen([path, *map(str, args)], stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{path} {' '.join(map(str, args))} exited with {proc.returncode}")
    return {"pid": proc.pid, "cpu": usage.ru_utime + usage.ru_stime, "sys": usage.ru_stime, "wall": wall,
            "printed": [int(x) for x in out.split()]}


def proc_cpu_seconds(pid):
    """utime+stime of a live process, in seconds (clock-tick resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def proc_rss(pid):
    """(VmRSS, VmHWM) in bytes."""
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                vals[key] = int(rest.split()[0]) * 1024
    return vals.get("VmRSS", 0), vals.get("VmHWM", 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A hotallocd with a private socket and metrics port, started with
    `args` (targets, --map-inserts, ...)."""

    def __init__(self, build, work, name, args):
        self.sock = os.path.join(work, f"{name}.sock")
        self.port = free_port()
        self.log_path = os.path.join(work, f"{name}.log")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [os.path.join(build, "hotallocd"), *args, "--socket", self.sock,
             "--web.listen-address", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"))
        try:
            self.ready_seconds = self._wait_ready()
        except Exception:
            self.stop()
            raise

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hotallocd exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                st = self.call("status")
                # A --discover daemon that has found nothing yet says not ready.
                if (st["ready"] or not st["targets"]) and all(t["state"] != "attaching" for t in st["targets"]):
                    return time.monotonic() - self.started
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"hotallocd not ready after {timeout} s: {self.log_tail()}")

    def log_tail(self):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-5:])

    def call(self, method, **params):
        """One request on the socket; the method's result."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(self.sock)
            f = s.makefile("rwb")
            f.readline()  # greeting
            f.write((json.dumps({"v": 1, "id": 1, "method": method, "params": params}) + "\n").encode())
            f.flush()
            reply = json.loads(f.readline())
        if not reply.get("ok"):
            raise RuntimeError(f"{method}: {reply.get('error')}")
        return reply["result"]

    def hits(self):
        """Probe hits so far, per probe."""
        return {p["probe"]: p["hits"] for p in self.call("status")["probe_health"]}

    def drops(self):
        return dict(self.call("status").get("drops", {}))

    def metric_sum(self, family):
        """Sum over a family's series in /metrics."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10).read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(family + "{") or line.startswith(family + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def cpu(self):
        return proc_cpu_seconds(self.proc.pid)

    def rss(self):
        return proc_rss(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def hits_delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


class Bpftrace:
    """bpftrace with uprobes on `probes` (list of "BINARY:FUNCTION") counting
    hits per pid, running until stop(), which returns {pid: hits}."""

    def __init__(self, work, name, probes):
        self.out = os.path.join(work, f"{name}.bt.out")
        attach = ",\n".join(f'uprobe:{p.split(":", 1)[0]}:"{p.split(":", 1)[1]}"' for p in probes)
        self.proc = subprocess.Popen(["bpftrace", "-o", self.out, "-e", attach + " { @[pid] = count(); }"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # bpftrace says "Attaching N probes..." before attaching; the probes
        # are in place once the uprobe events exist, which takes a moment more.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("bpftrace failed: " + self.proc.stderr.read().decode())
            if os.path.exists(self.out) and "Attaching" in open(self.out).read():
                break
            time.sleep(0.05)
        time.sleep(1.0)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=30)
        counts = {}
        for m in re.finditer(r"@\[(\d+)\]: (\d+)", open(self.out).read()):
            counts[int(m.group(1))] = int(m.group(2))
        return counts


class TracefsUprobe:
    """A uprobe with no BPF program (a tracefs event enabled in a private
    instance): the kernel's trap and nothing else, the floor of a probe's cost."""

    root = "/sys/kernel/tracing"

    def __init__(self, name, binary, offset):
        if not os.path.exists(os.path.join(self.root, "uprobe_events")):
            subprocess.run(["mount", "-t", "tracefs", "nodev", self.root], check=True)
        self.name, self.binary = name, binary
        self.instance = os.path.join(self.root, "instances", f"hotalloc_bench_{name}")
        os.makedirs(self.instance, exist_ok=True)
        self._define(f"p:hotalloc_bench/{name} {binary}:{offset:#x}\n")
        self._enable(1)
        self.removed = False

    def _define(self, line):
        # Appended without the seek to the end that Python's "a" mode does: tracefs refuses it.
        fd = os.open(os.path.join(self.root, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def _enable(self, on):
        with open(os.path.join(self.instance, "events", "hotalloc_bench", self.name, "enable"), "w") as f:
            f.write(str(on))

    def hits(self):
        with open(os.path.join(self.root, "uprobe_profile")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[0] == self.binary and parts[1] == self.name:
                    return int(parts[2])
        return 0

    def remove(self):
        if self.removed:
            return
        self.removed = True
        self._enable(0)
        self._define(f"-:hotalloc_bench/{self.name}\n")
        os.rmdir(self.instance)
