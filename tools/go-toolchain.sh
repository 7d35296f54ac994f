#!/usr/bin/env bash
# Fetch Go toolchains (Debian's golang-1.NN-go packages) into the project
# cache and print one GOROOT per version. Nothing on the host changes.
#
#   tools/go-toolchain.sh 1.19 1.26
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
known="1.19 1.21 1.22 1.23 1.24 1.25 1.26 1.27"

[ $# -gt 0 ] || { echo "usage: $0 VERSION... (known: $known)" >&2; exit 1; }
for v in "$@"; do
  case " $known " in *" $v "*) ;; *) echo "go-toolchain: unknown Go version $v (known: $known)" >&2; exit 1 ;; esac
  tree=$("$top/tools/fetch-deb.sh" "go-$v" "golang-$v-go" "golang-$v-src")
  root=$tree/usr/lib/go-$v
  [ -x "$root/bin/go" ] || { echo "go-toolchain: $root/bin/go missing" >&2; exit 1; }
  echo "$root"
done
