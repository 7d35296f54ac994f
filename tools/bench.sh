#!/usr/bin/env bash
# `make bench`: overhead of hotalloc's always-on tier, measured as ratios of
# runs side by side in one session (these machines are noisy; absolute times
# are not comparable between sessions, ratios are).
#
#  1. traced / untraced wall time of an allocation loop of 24-byte objects
#     (tests/targets/allocloop), median of PAIRS alternating pairs;
#  2. the same loop under bpftrace counting runtime.mallocgc (one probe hit
#     per allocation), median ratio against untraced;
#  3. per-hit cost of one uprobe (tracefs, no BPF program) at mallocgc's
#     entry (single-stepped) and at the site hotalloc picks (emulated).
#
# Each binary is a separate copy so only the intended one carries probes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
pairs=${PAIRS:-7}
n=${ALLOCS:-20000000}
# Runs with a probe hit per allocation are ~10x slower; they use fewer allocations.
n_hit=${ALLOCS_PER_HIT_RUN:-2000000}
pairs_hit=${PAIRS_PER_HIT_RUN:-3}
go_version=${BENCH_GO_VERSION:-1.26}
out=${BENCH_OUT:-$build/bench-results.md}

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (BPF, uprobes, tracefs)" >&2; exit 1; }
loop=$("$top/tools/go-build-target.sh" allocloop "$go_version")
work=$(mktemp -d /tmp/hotalloc-bench.XXXXXX)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "${tracefs:-}" ] && {
    echo 0 > "$tracefs/instances/hotalloc_bench/tracing_on" 2>/dev/null || true
    for e in entry site; do echo "-:hotalloc_bench/$e" >> "$tracefs/uprobe_events" 2>/dev/null || true; done
    rmdir "$tracefs/instances/hotalloc_bench" 2>/dev/null || true
  }
  rm -rf "$work"
}
trap cleanup EXIT
for c in untraced traced bpftraced probed; do cp "$loop" "$work/$c"; done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f\n", a/b}'; }

# 1. hotalloc attached to every process of the "traced" copy.
"$build/hotallocd" --exe "$work/traced" --socket "$work/sock" --web.listen-address 127.0.0.1:0 \
  2> "$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do "$build/hotallocctl" --socket "$work/sock" status >/dev/null 2>&1 && break; sleep 0.1; done
"$work/untraced" 1000000 >/dev/null  # warm the page cache
ratios=() untraced_ns=()
for i in $(seq "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then u=$("$work/untraced" "$n"); t=$("$work/traced" "$n")
  else t=$("$work/traced" "$n"); u=$("$work/untraced" "$n"); fi
  ratios+=("$(ratio "$t" "$u")"); untraced_ns+=("$u")
done
hotalloc_ratio=$(printf '%s\n' "${ratios[@]}" | median)
refills=$("$build/hotallocctl" --socket "$work/sock" --json status | python3 -c '
import json,sys; s=json.load(sys.stdin)
print(sum(p["hits"] for p in s["probe_health"] if p["probe"]=="refill"))')
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=

# 2. bpftrace on the same loop, one hit per allocation.
bpf_ratios=()
for i in $(seq "$pairs_hit"); do
  u=$("$work/untraced" "$n_hit")
  b=$(bpftrace -q -e "uprobe:$work/bpftraced:runtime.mallocgc { @ = count(); }" -c "$work/bpftraced $n_hit" \
      | grep -E '^[0-9]+$' | head -n1)
  bpf_ratios+=("$(ratio "$b" "$u")")
done
bpftrace_ratio=$(printf '%s\n' "${bpf_ratios[@]}" | median)

# 3. One tracefs uprobe at mallocgc's entry vs at hotalloc's site.
tracefs=/sys/kernel/tracing
[ -f "$tracefs/uprobe_events" ] || mount -t tracefs nodev "$tracefs"
sites=$("$build/probe_sites" "$work/probed" runtime.mallocgc)
entry=$(sed -E 's/.*entry=(0x[0-9a-f]+).*/\1/' <<<"$sites")
site=$(sed -E 's/.*site=(0x[0-9a-f]+).*/\1/' <<<"$sites")
mkdir -p "$tracefs/instances/hotalloc_bench"
echo "p:hotalloc_bench/entry $work/probed:$entry" >> "$tracefs/uprobe_events"
echo "p:hotalloc_bench/site $work/probed:$site" >> "$tracefs/uprobe_events"
per_hit() {  # per_hit EVENT -> "ns_per_hit hits"
  local ev=$1 costs=() hits=0
  echo 1 > "$tracefs/instances/hotalloc_bench/events/hotalloc_bench/$ev/enable"
  for i in $(seq "$pairs_hit"); do
    local before after u p
    before=$(awk -v e="$ev" -v b="$work/probed" '$1==b && $2==e {print $3}' "$tracefs/uprobe_profile")
    u=$("$work/untraced" "$n_hit"); p=$("$work/probed" "$n_hit")
    after=$(awk -v e="$ev" -v b="$work/probed" '$1==b && $2==e {print $3}' "$tracefs/uprobe_profile")
    hits=$((after - before))
    costs+=("$(awk -v p="$p" -v u="$u" -v h="$hits" 'BEGIN {printf "%.1f\n", (p-u)/h}')")
  done
  echo 0 > "$tracefs/instances/hotalloc_bench/events/hotalloc_bench/$ev/enable"
  echo "$(printf '%s\n' "${costs[@]}" | median) $hits"
}
read -r entry_ns entry_hits < <(per_hit entry)
read -r site_ns site_hits < <(per_hit site)

u_med=$(printf '%s\n' "${untraced_ns[@]}" | median)
{
  echo "## hotalloc benchmark ($(date -u +%F), kernel $(uname -r), $(nproc) CPUs, Go $go_version)"
  echo
  echo "Allocation loop: $n allocations of 24-byte objects; untraced median $(awk -v u="$u_med" 'BEGIN{printf "%.0f", u/1e6}') ms."
  echo
  echo "| measurement | result |"
  echo "|---|---|"
  echo "| hotalloc always-on tier, traced/untraced (median of $pairs pairs) | **$hotalloc_ratio** ($refills refill hits per run set) |"
  echo "| bpftrace \`uprobe:BIN:runtime.mallocgc { @ = count(); }\`, traced/untraced ($n_hit allocations, median of $pairs_hit) | **$bpftrace_ratio** |"
  echo "| one uprobe at mallocgc's entry (single-stepped) | $entry_ns ns/hit ($entry_hits hits) |"
  echo "| one uprobe at hotalloc's site ($(sed -E 's/.*placement=([a-z_]+).*instruction="([^"]*)".*/\1: \2/' <<<"$sites"), emulated) | $site_ns ns/hit ($site_hits hits) |"
} | tee "$out"

# 4. Map insert probes: per-insert cost with the insert tier on (hotalloc)
# and with bpftrace counting runtime.mapassign_faststr's entry, against the
# untraced loop; then the default duty cycle on a longer map-heavy loop.
maploop=$("$top/tools/go-build-target.sh" maploop "$go_version")
n_ins=${INSERTS:-2000000}
n_duty=${INSERTS_DUTY:-100000000}
duty=${DUTY:-200ms/10s}
for c in untraced traced bpftraced duty; do cp "$maploop" "$work/map_$c"; done
start_daemon() {  # start_daemon BINARY MODE
  "$build/hotallocd" --exe "$1" --map-inserts="$2" --socket "$work/sock" --web.listen-address 127.0.0.1:0 \
    2> "$work/daemon-maps.log" &
  daemon_pid=$!
  for _ in $(seq 100); do "$build/hotallocctl" --socket "$work/sock" status >/dev/null 2>&1 && break; sleep 0.1; done
}
stop_daemon() { kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=; }
per_insert() { awk -v t="$1" -v u="$2" -v n="$3" 'BEGIN {printf "%.0f\n", (t-u)/n}'; }

start_daemon "$work/map_traced" on
ins_ns=() ins_ratio=() u_ins=()
for i in $(seq "$pairs_hit"); do
  u=$("$work/map_untraced" "$n_ins"); t=$("$work/map_traced" "$n_ins")
  ins_ns+=("$(per_insert "$t" "$u" "$n_ins")"); ins_ratio+=("$(ratio "$t" "$u")"); u_ins+=("$u")
done
stop_daemon
bt_ns=() bt_ratio=()
for i in $(seq "$pairs_hit"); do
  u=$("$work/map_untraced" "$n_ins")
  b=$(bpftrace -q -e "uprobe:$work/map_bpftraced:runtime.mapassign_faststr { @ = count(); }" \
      -c "$work/map_bpftraced $n_ins" | grep -E '^[0-9]+$' | head -n1)
  bt_ns+=("$(per_insert "$b" "$u" "$n_ins")"); bt_ratio+=("$(ratio "$b" "$u")")
done
start_daemon "$work/map_duty" "$duty"
duty_ratio=()
for i in $(seq "$pairs_hit"); do
  u=$("$work/map_untraced" "$n_duty"); t=$("$work/map_duty" "$n_duty")
  duty_ratio+=("$(ratio "$t" "$u")")
done
stop_daemon
{
  echo
  echo "Map inserts: $n_ins inserts into a map[string]int (mapassign_faststr), untraced median" \
    "$(printf '%s\n' "${u_ins[@]}" | median | awk -v n="$n_ins" '{printf "%.1f", $1/n}') ns per insert."
  echo
  echo "| measurement | result |"
  echo "|---|---|"
  echo "| hotalloc insert probes on (\`--map-inserts=on\`): extra per insert, traced/untraced (median of $pairs_hit) |" \
    "**$(printf '%s\n' "${ins_ns[@]}" | median) ns**, $(printf '%s\n' "${ins_ratio[@]}" | median) |"
  echo "| bpftrace \`uprobe:BIN:runtime.mapassign_faststr { @ = count(); }\`: extra per insert, traced/untraced |" \
    "**$(printf '%s\n' "${bt_ns[@]}" | median) ns**, $(printf '%s\n' "${bt_ratio[@]}" | median) |"
  echo "| default duty cycle \`--map-inserts=$duty\`, $n_duty inserts, traced/untraced | **$(printf '%s\n' "${duty_ratio[@]}" | median)** |"
} | tee -a "$out"
echo
echo "bench: results written to $out"
