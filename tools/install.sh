#!/usr/bin/env bash
# `make install`: the binaries, the systemd unit and sysusers snippet, the
# default config (never over an existing one) and the Grafana and Prometheus
# files, under $DESTDIR$PREFIX (default /usr/local) and $DESTDIR/etc.
#
# On a live system (no DESTDIR) it then creates the hotalloc user and reloads
# systemd; `systemctl enable --now hotalloc` starts the service.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
prefix=${PREFIX:-/usr/local}
dest=${DESTDIR:-}
[[ $build = /* ]] || build=$top/$build

for bin in hotallocd hotallocctl; do
  [ -x "$build/$bin" ] || { echo "install: $build/$bin is missing (make build)" >&2; exit 1; }
done
install -D -m 0755 "$build/hotallocd" "$dest$prefix/sbin/hotallocd"
install -D -m 0755 "$build/hotallocctl" "$dest$prefix/bin/hotallocctl"
unit=$dest$prefix/lib/systemd/system/hotalloc.service
install -D -m 0644 "$top/deploy/systemd/hotalloc.service" "$unit"
sed -i "s#^ExecStart=/usr/sbin/hotallocd #ExecStart=$prefix/sbin/hotallocd #" "$unit"
install -D -m 0644 "$top/deploy/systemd/hotalloc.sysusers" "$dest$prefix/lib/sysusers.d/hotalloc.conf"
if [ -e "$dest/etc/hotalloc/hotalloc.toml" ]; then
  echo "install: keeping the existing $dest/etc/hotalloc/hotalloc.toml" >&2
else
  install -D -m 0644 "$top/deploy/config/hotalloc.toml" "$dest/etc/hotalloc/hotalloc.toml"
fi
share=$dest$prefix/share/hotalloc
install -D -m 0644 "$top/deploy/grafana/hotalloc.json" "$share/grafana/hotalloc.json"
for f in "$top"/deploy/grafana/provisioning/*/*.yaml "$top"/deploy/prometheus/*.yml; do
  install -D -m 0644 "$f" "$share/${f#"$top/deploy/"}"
done

if [ -z "$dest" ] && [ -d /run/systemd/system ]; then
  systemd-sysusers "$prefix/lib/sysusers.d/hotalloc.conf"
  systemctl daemon-reload
  echo "install: done; start it with: systemctl enable --now hotalloc" >&2
fi
