#!/usr/bin/env bash
# Runs the test suites against the build tree.
#   tools/run-tests.sh all|unit|bpf
# Fetches the Go toolchains the tests need first, so a failure to fetch is
# reported as such rather than as a test failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
what=${1:-all}
versions=${HOTALLOC_GO_VERSIONS:-1.19 1.26}

# shellcheck disable=SC2086
"$top/tools/go-toolchain.sh" $versions >/dev/null

status=0
run() {
  echo "== $*"
  "$@" || status=1
}

if [ "$what" = all ] || [ "$what" = unit ]; then
  run "$build/unit_tests" --gtest_color=no
fi
if [ "$what" = all ] || [ "$what" = bpf ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bpf_tests need root (they load BPF programs and attach uprobes)" >&2
    [ "${CI:-}" = true ] && status=1
  else
    run "$build/bpf_tests" --gtest_color=no
  fi
fi
exit $status
