#!/usr/bin/env bash
# A minimal Debian 12 root with systemd, for booting hotalloc's unit under a
# real systemd (systemd-nspawn --boot) in tests.
#
#   tools/nspawn-root.sh BINARY...   # prints the root's path
#
# The root also has the shared libraries BINARY... need (their Debian
# packages), so the project's own builds run inside it. It is built once with
# debootstrap and cached under $HOTALLOC_CACHE/nspawn, keyed by its package
# list: a new library dependency makes a new root (from cached .debs),
# anything else reuses it.
# Tests must not change it; they boot it through an overlay.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HOTALLOC_CACHE:-/var/cache/hotalloc}
suite=bookworm

die() { echo "nspawn-root: $*" >&2; exit 1; }
command -v debootstrap >/dev/null || die "debootstrap is missing (sudo make deps)"

# The package owning each library a binary loads; dpkg knows the /usr path
# on merged-/usr systems, or the / one on older ones.
owner() {
  local f=$1 p
  for c in "$f" "$(realpath "$f")" "/usr${f#/usr}" "${f#/usr}"; do
    p=$(dpkg-query -S "$c" 2>/dev/null | head -n1) && { echo "${p%%:*}"; return; }
  done
  die "no package owns $f"
}
# procps: the unit's ExecReload=/bin/kill, as on any Debian system.
pkgs=(systemd systemd-sysv dbus procps)
for bin in "$@"; do
  [ -x "$bin" ] || die "$bin is not an executable"
  while read -r lib; do pkgs+=("$(owner "$lib")"); done < <(ldd "$bin" | awk '$3 ~ /^\// {print $3}')
done
list=$(printf '%s\n' "${pkgs[@]}" | sort -u | paste -sd, -)
key=$(echo "$suite $list" | sha256sum | cut -c1-12)
root=$cache/nspawn/$suite-$key
if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi

mkdir -p "$cache/nspawn/debs"
tmp=$(mktemp -d "$cache/nspawn/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "nspawn-root: debootstrap $suite with $list (a few minutes, once)" >&2
# The .debs stay in the cache: a root with one more library costs an unpack, not a download.
log=$cache/nspawn/debootstrap.log
debootstrap --variant=minbase --cache-dir="$cache/nspawn/debs" --include="$list" "$suite" "$tmp" \
  "$("$top/tools/debian-mirror.sh")" >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "debootstrap failed (log: $log)"; }
# Boots to multi-user without a login prompt on the console or a network to wait for.
rm -f "$tmp/etc/systemd/system/getty.target.wants/"* "$tmp/etc/machine-id"
touch "$tmp/etc/machine-id"
touch "$tmp/.complete"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
# Roots for older package lists are dead weight now.
for old in "$cache/nspawn/$suite"-*; do [ "$old" = "$root" ] || rm -rf "$old"; done
echo "$root"
