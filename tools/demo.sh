#!/usr/bin/env bash
# `make demo`: builds the bundled demo workload with a cached Go toolchain,
# starts it and build/hotallocd attached to it, and shows the allocations
# per size class from hotallocctl and from /metrics until Ctrl-C
# (or for DEMO_SECONDS seconds).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
seconds=${DEMO_SECONDS:-0}
go_version=${DEMO_GO_VERSION:-1.26}
socket=${DEMO_SOCKET:-/run/hotalloc/hotalloc.sock}
listen=${DEMO_LISTEN:-127.0.0.1:17911}

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: hotallocd loads BPF programs and attaches uprobes; run as root (sudo make demo)" >&2
  exit 1
fi

echo "demo: building the demo workload with Go $go_version (toolchain cached under ${HOTALLOC_CACHE:-/var/cache/hotalloc})"
workload=$("$top/tools/go-build-target.sh" demo/workload "$go_version")

log=$(mktemp /tmp/hotalloc-demo.XXXXXX.log)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped (daemon log: $log)"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

"$workload" >/dev/null &
pids+=($!)
workload_pid=$!
"$build/hotallocd" --pid "$workload_pid" --socket "$socket" --web.listen-address "$listen" 2>"$log" &
pids+=($!)

ctl() { "$build/hotallocctl" --socket "$socket" "$@"; }
for _ in $(seq 100); do
  ctl status >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "demo: hotallocd failed to start:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done

echo
echo "demo: hotallocd traces the workload (pid $workload_pid). Probes:"
ctl status
start=$(date +%s)
while :; do
  sleep 3
  echo
  echo "== $(date +%T)  build/hotallocctl sizeclasses"
  ctl sizeclasses
  echo
  echo "== http://$listen/metrics (a few lines)"
  curl -sf "http://$listen/metrics" | grep -E '^hotalloc_heap_(alloc_objects_total|large_alloc_objects_total|tiny_alloc_objects_total)' | head -n 8 || true
  if [ "$seconds" -gt 0 ] && [ $(( $(date +%s) - start )) -ge "$seconds" ]; then break; fi
done
