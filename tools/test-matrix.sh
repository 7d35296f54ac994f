#!/usr/bin/env bash
# The Go test matrix: the BPF tests instantiated with HOTALLOC_GO_MATRIX
# (gtest names "GoMatrix/..."; see tests/support/go_matrix.h) over every
# supported Go version x {default, stripped, pie}. Then README's support
# table is rewritten from the results (tools/support-table.py).
#
#   tools/test-matrix.sh                       # what CI runs (root)
#   HOTALLOC_MATRIX_VERSIONS="1.22 1.27" HOTALLOC_MATRIX_MODES=pie tools/test-matrix.sh
#
# A partial run (fewer versions or modes) prints its table but leaves the
# README alone. Toolchains and Go test binaries are cached under
# $HOTALLOC_CACHE, so a second run only runs tests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
all_versions="1.19 1.21 1.22 1.23 1.24 1.25 1.26 1.27"
all_modes="default stripped pie"
versions=${HOTALLOC_MATRIX_VERSIONS:-$all_versions}
modes=${HOTALLOC_MATRIX_MODES:-$all_modes}
shards=${HOTALLOC_MATRIX_JOBS:-2}

if [ "$(id -u)" -ne 0 ]; then
  echo "test-matrix: needs root (the BPF tests load programs and attach uprobes)" >&2
  exit 1
fi

out=$build/test-matrix
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)

# Toolchains first, so a failure to fetch is reported as such; each one's
# exact release goes into the table.
toolchains=()
for v in $versions; do
  root=$("$top/tools/go-toolchain.sh" "$v")
  toolchains+=("$v=$(head -n1 "$root/VERSION")")
done

# The cases are independent (each starts its own program and daemon) and
# spend much of their time waiting on them, so shards run side by side.
status=0
pids=()
for ((i = 0; i < shards; i++)); do
  HOTALLOC_GO_VERSIONS=$versions HOTALLOC_BUILD_MODES=$modes GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i \
    "$build/bpf_tests" --gtest_color=no --gtest_filter='GoMatrix/*' \
    --gtest_output="json:$out/shard-$i.json" > "$out/shard-$i.log" 2>&1 &
  pids+=($!)
done
for ((i = 0; i < shards; i++)); do
  wait "${pids[$i]}" || status=1
done
elapsed=$(($(date +%s) - start))

for ((i = 0; i < shards; i++)); do
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\]|Failure|error:' "$out/shard-$i.log" || true
done

table_args=(--elapsed "$elapsed" --versions "$versions" --modes "$modes")
for t in "${toolchains[@]}"; do table_args+=(--toolchain "$t"); done
if [ "$versions" = "$all_versions" ] && [ "$modes" = "$all_modes" ]; then
  table_args+=(--readme "$top/README.md")
fi
python3 "$top/tools/support-table.py" "${table_args[@]}" "$out"/shard-*.json || status=1
echo "test-matrix: $elapsed s; logs in $out"
exit $status
