# shellcheck shell=bash
# Shared by tests/deploy/*_test.sh, which tools/run-tests.sh runs one by one.
# A test script exits 0 when every check passed, 1 when one failed, and 77
# when a prerequisite is missing (a failure under CI=true, never a skip).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
[[ $build = /* ]] || build=$top/$build
cache=${HOTALLOC_CACHE:-/var/cache/hotalloc}
failures=0

# A private scratch directory, removed on exit, as are processes registered
# with `cleanup_pid` and commands registered with `on_exit`.
work=$(mktemp -d /tmp/hotalloc-deploy.XXXXXX)
chmod 0755 "$work"
exit_hooks=()
on_exit() { exit_hooks+=("$*"); }
cleanup_pid() { on_exit "kill $1 2>/dev/null; wait $1 2>/dev/null || true"; }
run_exit_hooks() {
  local i
  for ((i = ${#exit_hooks[@]} - 1; i >= 0; i--)); do eval "${exit_hooks[$i]}" || true; done
  rm -rf "$work"
}
trap run_exit_hooks EXIT

pass() { echo "  ok    $*"; }
fail() { echo "  FAIL  $*"; failures=$((failures + 1)); }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
  local what=$1; shift
  if "$@" >"$work/check.out" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/        /' "$work/check.out" | tail -n 20; fi
}
require() {
  local what=$1; shift
  if ! "$@" >/dev/null 2>&1; then
    echo "  missing prerequisite: $what"
    exit 77
  fi
}
finish() { [ "$failures" -eq 0 ]; }

# Debian's python3, which python3-yaml and python3-kubernetes (tools/deps.sh)
# install into; a python3 earlier on PATH (pyenv, a venv) may have neither.
py=/usr/bin/python3
# Exits 77 (missing prerequisite) unless $py can import PyYAML.
require_python_yaml() { require "python3-yaml (tools/deps.sh)" "$py" -c 'import yaml'; }

# Polls COMMAND... every 0.1 s until it succeeds or SECONDS pass.
wait_until() {
  local seconds=$1; shift
  local end=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

# The Go test program NAME built with the newest Go version of this run.
go_program() {
  local versions=(${HOTALLOC_GO_VERSIONS:-1.19 1.26})
  "$top/tools/go-build-target.sh" "$1" "${versions[-1]}" "${2:-default}"
}
