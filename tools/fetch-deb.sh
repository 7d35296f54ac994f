#!/usr/bin/env bash
# Fetch Debian packages into a private cache and unpack them there, without
# touching the host's apt state or installed packages.
#
#   tools/fetch-deb.sh NAME PKG...   # unpacks PKG... into one tree, prints its path
#
# The tree is $HOTALLOC_CACHE/deb/NAME (default cache /var/cache/hotalloc) and
# is reused once complete. The mirror is derived from the system's own apt
# sources (the URI that serves the Debian archive); the suites that carry the
# packages we need (bookworm, its backports, trixie and trixie-backports) are
# written to a private sources list with a private state directory.
set -euo pipefail

cache=${HOTALLOC_CACHE:-/var/cache/hotalloc}
aptdir=$cache/apt

die() { echo "fetch-deb: $*" >&2; exit 1; }

mirror() { "$(dirname "$0")/debian-mirror.sh" || die "cannot find the Debian mirror"; }

apt_private() {
  apt-get -o "Dir::State=$aptdir/state" -o "Dir::State::Lists=$aptdir/state/lists" \
    -o "Dir::State::status=$aptdir/state/status" -o "Dir::Cache=$aptdir/cache" \
    -o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=$aptdir/empty" \
    -o "Dir::Etc::Preferences=$aptdir/empty/preferences" -o "Dir::Etc::PreferencesParts=$aptdir/empty" \
    -o APT::Sandbox::User=root -o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0 \
    -o Acquire::Languages=none -q "$@"
}

prepare_apt() {
  local stamp=$aptdir/state/updated
  mkdir -p "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/empty"
  # Refresh the private index at most once a day.
  if [ -f "$stamp" ] && [ -n "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then return; fi
  touch "$aptdir/state/status"
  local m key=/usr/share/keyrings/debian-archive-keyring.gpg
  m=$(mirror)
  : > "$aptdir/sources.list.new"
  for s in bookworm bookworm-backports trixie trixie-backports; do
    echo "deb [signed-by=$key] $m $s main" >> "$aptdir/sources.list.new"
  done
  mv "$aptdir/sources.list.new" "$aptdir/sources.list"
  apt_private update >&2 || die "apt-get update on the private sources failed"
  touch "$stamp"
}

[ $# -ge 2 ] || die "usage: $0 NAME PKG..."
name=$1; shift
dest=$cache/deb/$name
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

mkdir -p "$cache/deb"
prepare_apt
tmp=$(mktemp -d "$cache/deb/.fetch-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt_private download "$@" >&2) || die "apt-get download $* failed"
# One tree for all packages, so their relative symlinks resolve inside it.
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/tree"; done
touch "$tmp/tree/.complete"
rm -rf "$dest"
mv "$tmp/tree" "$dest"
echo "$dest"
