#!/usr/bin/env bash
# `make bench`: what hotalloc costs its targets and the host, measured as
# ratios side by side in one run (tools/bench/bench.py; the method and the
# goals are in BENCHMARKS.md). BENCH_QUICK=1 is a short smoke run whose
# figures go to BUILD_DIR/bench-results.md only.
set -euo pipefail
exec python3 "$(dirname "$0")/bench/bench.py" "$@"
