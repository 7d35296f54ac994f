#!/usr/bin/env bash
# The systemd unit, the sysusers snippet, the default config and
# `make install`, checked offline with systemd's own tools.
source "$(dirname "$0")/lib.sh"
require "systemd-analyze (systemd)" command -v systemd-analyze
require "systemd-sysusers (systemd)" command -v systemd-sysusers
require "$build/hotallocd (make build)" test -x "$build/hotallocd"

root=$work/root
check "make install into a staging root" env DESTDIR="$root" PREFIX=/usr BUILD_DIR="$build" "$top/tools/install.sh"
for f in usr/sbin/hotallocd usr/bin/hotallocctl usr/lib/systemd/system/hotalloc.service \
  usr/lib/sysusers.d/hotalloc.conf etc/hotalloc/hotalloc.toml usr/share/hotalloc/grafana/hotalloc.json \
  usr/share/hotalloc/grafana/provisioning/dashboards/hotalloc.yaml \
  usr/share/hotalloc/grafana/provisioning/datasources/hotalloc.yaml \
  usr/share/hotalloc/prometheus/hotalloc.rules.yml usr/share/hotalloc/prometheus/prometheus.yml; do
  check "installs /$f" test -s "$root/$f"
done
echo "# edited" >> "$root/etc/hotalloc/hotalloc.toml"
env DESTDIR="$root" PREFIX=/usr BUILD_DIR="$build" "$top/tools/install.sh" 2>/dev/null
check "a second install keeps an edited config" grep -q '^# edited' "$root/etc/hotalloc/hotalloc.toml"
check "the default config is valid" "$build/hotallocd" --config "$top/deploy/config/hotalloc.toml" --check-config

# verify: syntax, and that the Exec paths exist (so point at this build).
# It only prints what it dislikes (exit 0 for Type=notifyy), so any stderr fails.
unit=$work/hotalloc.service
sed "s#^ExecStart=/usr/sbin/hotallocd #ExecStart=$build/hotallocd #" "$top/deploy/systemd/hotalloc.service" > "$unit"
verify() { systemd-analyze verify --man=no "$unit" 2>"$work/verify.err"; cat "$work/verify.err"; test ! -s "$work/verify.err"; }
check "systemd-analyze verify prints nothing" verify
# The exposure score in tenths: 4.0 allows the capabilities uprobes need.
check "systemd-analyze security: exposure at most 4.0" \
  systemd-analyze security --offline=true --threshold=40 "$unit"
score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | grep 'Overall exposure level' | grep -oE '[0-9]+\.[0-9]+')
echo "        exposure $score"

sysroot=$work/sysroot
mkdir -p "$sysroot/etc"
check "systemd-sysusers creates the user and group" \
  systemd-sysusers --root="$sysroot" "$root/usr/lib/sysusers.d/hotalloc.conf"
check "user hotalloc, home /var/lib/hotalloc" grep -q '^hotalloc:x:[0-9]*:[0-9]*:hotalloc daemon:/var/lib/hotalloc:' "$sysroot/etc/passwd"
check "group hotalloc" grep -q '^hotalloc:x:' "$sysroot/etc/group"
finish
