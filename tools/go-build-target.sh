#!/usr/bin/env bash
# Build one Go program with a cached toolchain, caching the binary outside
# the clone, keyed by its sources, Go version and mode.
#
#   tools/go-build-target.sh NAME GOVERSION [MODE]   # prints the binary's path
#
# NAME is a program under tests/targets/, or a directory relative to the
# repository when it contains a slash (demo/workload).
#
# MODE: default | stripped (-ldflags='-s -w') | pie (-buildmode=pie)
#       | cgo (CGO_ENABLED=1, external linking: dynamically linked, C code in .text)
#       | static (cgo, externally linked with -static: C code, no interpreter)
set -euo pipefail

name=$1 version=$2 mode=${3:-default}
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HOTALLOC_CACHE:-/var/cache/hotalloc}
case $name in
  */*) src=$top/$name ;;
  *) src=$top/tests/targets/$name ;;
esac
[ -d "$src" ] || { echo "go-build-target: no Go program at $src" >&2; exit 1; }
name=$(basename "$name")

flags=() env_extra=(CGO_ENABLED=0)
case $mode in
  default) ;;
  stripped) flags+=(-ldflags=-s\ -w) ;;
  pie) flags+=(-buildmode=pie) ;;
  cgo) env_extra=(CGO_ENABLED=1); flags+=(-ldflags=-linkmode=external) ;;
  static) env_extra=(CGO_ENABLED=1); flags+=(-ldflags=-linkmode=external\ -extldflags=-static) ;;
  *) echo "go-build-target: unknown mode $mode" >&2; exit 1 ;;
esac

# The cgo modes link runtime/cgo, as every program that uses cgo (net,
# os/user, C libraries) does: threads come from pthread_create, and C runs
# before Go. External linking alone would leave it out.
cgo_file=
case $mode in cgo|static) cgo_file=$'package main\n\nimport _ "runtime/cgo"\n' ;; esac

goroot=$("$top/tools/go-toolchain.sh" "$version")
key=$( (cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$version $mode ${flags[*]:-} $cgo_file") | sha256sum | cut -c1-16)
out=$cache/targets/$name/$version-$mode-$key/$name
if [ ! -x "$out" ]; then
  mkdir -p "$(dirname "$out")"
  work=$(mktemp -d "$cache/targets/.build-XXXXXX")
  cp -r "$src"/. "$work"/
  [ -z "$cgo_file" ] || printf '%s' "$cgo_file" > "$work/zz_hotalloc_cgo.go"
  [ -f "$work/go.mod" ] || printf 'module hotalloc.test/%s\n\ngo 1.19\n' "$name" > "$work/go.mod"
  (cd "$work" && env "${env_extra[@]}" GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off \
     GOCACHE="$cache/gocache/$version" GOPATH="$cache/gopath" \
     "$goroot/bin/go" build -trimpath "${flags[@]}" -o "$work/$name.out" .) >&2
  # A rename, so that concurrent builds of the same binary (test shards) never see a partial file.
  mv "$work/$name.out" "$out"
  rm -rf "$work"
fi
echo "$out"
