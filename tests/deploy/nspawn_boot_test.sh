#!/usr/bin/env bash
# The unit under a real systemd: a Debian root (debootstrapped once, cached
# under $HOTALLOC_CACHE/nspawn) boots in systemd-nspawn with `make install`
# applied through an overlay; hotalloc.service starts as its own user with the
# unit's capabilities, reaches READY, traces a Go service, answers
# hotallocctl on its 0660 socket, reloads on `systemctl reload` and stops
# cleanly.
source "$(dirname "$0")/lib.sh"
require "root (mounts, systemd-nspawn, BPF)" test "$(id -u)" -eq 0
require "systemd-nspawn (systemd-container)" command -v systemd-nspawn
require "debootstrap" command -v debootstrap
require "$build/hotallocd (make build)" test -x "$build/hotallocd"
require "$build/hotallocctl (make build)" test -x "$build/hotallocctl"

start=$SECONDS
root=$("$top/tools/nspawn-root.sh" "$build/hotallocd" "$build/hotallocctl") || { fail "build the nspawn root"; exit 1; }
echo "        root $root ready in $((SECONDS - start)) s"
gosvc=$(go_program sizes)

# The cached root stays pristine: the container writes to an overlay.
merged=$work/merged
mkdir -p "$work/upper" "$work/overlay-work" "$merged"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/overlay-work" "$merged"
on_exit "umount -l '$merged'"
env DESTDIR="$merged" PREFIX=/usr BUILD_DIR="$build" "$top/tools/install.sh" 2>/dev/null
install -D -m 0755 "$gosvc" "$merged/usr/local/bin/gosvc"
cat > "$merged/etc/systemd/system/gosvc.service" <<'UNIT'
[Unit]
Description=A Go service that allocates

[Service]
ExecStart=/usr/local/bin/gosvc
StandardInputText=loop
StandardOutput=null
UNIT
cat > "$merged/etc/hotalloc/hotalloc.toml" <<'TOML'
exe = ["gosvc=/usr/local/bin/gosvc"]
[web]
listen-address = "127.0.0.1:17911"
TOML

systemd-nspawn -D "$merged" --register=no --keep-unit --boot --private-network --console=pipe \
  --capability=CAP_BPF,CAP_PERFMON,CAP_SYS_ADMIN,CAP_SYS_PTRACE,CAP_SYS_RESOURCE \
  --system-call-filter="bpf perf_event_open" >"$work/console.log" 2>&1 &
nspawn=$!
on_exit "kill $nspawn 2>/dev/null; sleep 1; kill -9 $nspawn 2>/dev/null; wait $nspawn 2>/dev/null"

# The container's PID 1 is the systemd among nspawn's descendants.
leader=
find_leader() {
  local p
  for p in $(pgrep -P "$nspawn") $(for c in $(pgrep -P "$nspawn"); do pgrep -P "$c"; done); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] && { leader=$p; return 0; }
  done
  return 1
}
wait_until 30 find_leader || { fail "the container boots"; cat "$work/console.log"; exit 1; }
in_ct() { nsenter -t "$leader" -a "$@"; }
booted() { in_ct systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; }
check "systemd boots to multi-user in the container" wait_until 60 booted
echo "        booted in $((SECONDS - start)) s"

check "the hotalloc user exists (sysusers)" in_ct getent passwd hotalloc
in_ct systemctl start gosvc
check "hotalloc.service starts (Type=notify: returns once READY=1)" in_ct systemctl start hotalloc
show() { in_ct systemctl show hotalloc -p "$1" --value; }
check "active and running" test "$(show ActiveState)/$(show SubState)" = active/running
check "STATUS= reports the target" grep -q 'tracing 1 of 1 targets' <(show StatusText)
check "runs as user hotalloc" test "$(in_ct stat -c %U "/proc/$(show MainPID)")" = hotalloc
check "socket directory 0750 hotalloc:hotalloc" test "$(in_ct stat -c '%a %U:%G' /run/hotalloc)" = "750 hotalloc:hotalloc"
check "socket 0660 hotalloc:hotalloc" test "$(in_ct stat -c '%a %U:%G' /run/hotalloc/hotalloc.sock)" = "660 hotalloc:hotalloc"
check "hotallocctl status" in_ct hotallocctl status
counted() { in_ct hotallocctl --json sizeclasses --target gosvc | grep -qE '"objects": *[1-9]'; }
check "the Go service's allocations are counted" wait_until 10 counted
check "journald gets priority-prefixed lines" grep -q 'ready: tracing 1 of 1 targets' <(in_ct journalctl -u hotalloc -o cat --no-pager -p info)

pid=$(show MainPID)
cat > "$merged/etc/hotalloc/hotalloc.toml" <<'TOML'
exe = ["gosvc=/usr/local/bin/gosvc"]
discover = true
[web]
listen-address = "127.0.0.1:17911"
TOML
check "systemctl reload (RELOADING=1 ... READY=1)" in_ct systemctl reload hotalloc
check "the same process after the reload" test "$(show MainPID)" = "$pid"
check "still active" test "$(show ActiveState)" = active
journal() { in_ct journalctl -u hotalloc -o cat --no-pager; }
check "the reload applied discover" grep -q 'applied discover' <(journal)
check "discovery uses the exec tracepoint under the unit's sandbox" grep -q 'discovering Go processes (exec tracepoint)' <(journal)
check "gosvc kept its probes (attached once)" test "$(journal | grep -c 'tracing every process of /usr/local/bin/gosvc')" = 1

echo 'level = "loud"' >> "$merged/etc/hotalloc/hotalloc.toml"
check "a bad config on reload" in_ct systemctl reload hotalloc
check "is refused with its line, and the daemon stays" grep -q 'reload rejected.*hotalloc.toml:5: web.level: unknown key' <(journal)
check "still active after the refused reload" test "$(show ActiveState)" = active

check "systemctl stop" in_ct systemctl stop hotalloc
check "stopped cleanly (Result=success)" test "$(show Result)/$(show ActiveState)" = success/inactive
check "the daemon logged its stop" grep -q 'stopping on signal' <(journal)
check "the runtime directory is gone" test ! -e "$merged/run/hotalloc"
in_ct systemctl poweroff >/dev/null 2>&1 || true
wait_until 20 bash -c "! kill -0 $nspawn" || true
echo "        whole boot test: $((SECONDS - start)) s"
finish
