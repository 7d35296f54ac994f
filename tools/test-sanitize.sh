#!/usr/bin/env bash
# `make test-sanitize`: the unit tests and a part of the BPF tests, built with
# AddressSanitizer and UBSan (-DHOTALLOC_SANITIZE=ON, in its own build tree).
# The BPF tests run build-asan/hotallocd, so the daemon itself is checked
# while it traces real Go programs.
#
#   SANITIZE_BUILD_DIR=build-asan tools/test-sanitize.sh
#
# Every sanitizer report — of the test binaries, of the daemon, of leaks at
# exit — goes to a file of its own; any such file fails the run, whether or
# not the test that caused it noticed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILD_DIR:-build-asan}
[[ $build = /* ]] || build=$top/$build
# One Go version: the sanitizers check the daemon's code, which the version
# changes little; the matrix covers the versions.
export HOTALLOC_GO_VERSIONS=${HOTALLOC_SANITIZE_GO_VERSIONS:-1.26}
# The BPF tests that drive the most daemon code per second: attach and
# detach, process churn, exits, exec, discovery, reload, maps, heap sites.
bpf_filter=${HOTALLOC_SANITIZE_BPF_FILTER:-*/Faults.*:ProcessChurn.*:Discovery.*:Reload.*:Refusals.*:*/MapIdentity.*:GoMatrix/SizeClassAccuracy.*:GoMatrix/HeapSites.*:GoMatrix/Maps.*}

reports=$(mktemp -d /tmp/hotalloc-sanitize-XXXXXX)
trap 'rm -rf "$reports"' EXIT
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"

"$top/tools/go-toolchain.sh" $HOTALLOC_GO_VERSIONS >/dev/null
status=0
echo "== sanitize: unit tests"
"$build/unit_tests" --gtest_color=no --gtest_brief=1 || status=1
if [ "$(id -u)" -ne 0 ]; then
  echo "sanitize: the BPF tests need root (they load BPF programs and attach uprobes)" >&2
  [ "${CI:-}" = true ] && status=1
else
  echo "== sanitize: BPF tests ($bpf_filter)"
  "$build/bpf_tests" --gtest_color=no --gtest_brief=1 --gtest_filter="$bpf_filter" || status=1
fi
for f in "$reports"/*; do
  [ -e "$f" ] || continue
  echo "== sanitizer report $(basename "$f")"
  cat "$f"
  status=1
done
exit $status
