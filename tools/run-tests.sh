#!/usr/bin/env bash
# Runs the test suites against the build tree.
#   tools/run-tests.sh all|unit|bpf|deploy
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
if [ "$what" = all ] || [ "$what" = deploy ]; then
  # The deployment artefacts, each test a script (tests/deploy/*_test.sh):
  # 0 passed, 77 a prerequisite is missing (a failure under CI), else failed.
  passed=0 failed=0 skipped=0
  for t in "$top"/tests/deploy/*_test.sh; do
    echo "== deploy: $(basename "$t")"
    start=$SECONDS
    rc=0
    BUILD_DIR=$build "$t" || rc=$?
    if [ $rc -eq 0 ]; then
      passed=$((passed + 1))
    elif [ $rc -eq 77 ] && [ "${CI:-}" != true ]; then
      skipped=$((skipped + 1))
      echo "   skipped: a prerequisite is missing"
    else
      failed=$((failed + 1))
      status=1
    fi
    echo "   ($((SECONDS - start)) s)"
  done
  echo "deploy: $passed passed, $failed failed, $skipped skipped"
fi
exit $status
