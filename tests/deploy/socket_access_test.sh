#!/usr/bin/env bash
# Who may use the socket of a real daemon: a member of its group reads, a
# non-member is refused by the file mode (EACCES, hotallocctl exit 77), an
# admin method is refused to a member that is no admin uid (exit 77) and
# allowed to an admin uid, and every request is counted by method and code.
source "$(dirname "$0")/lib.sh"
require "root (BPF, and setpriv to other uids)" test "$(id -u)" -eq 0
require "setpriv (util-linux)" command -v setpriv
require "$py, for uids without access to root's" test -x "$py"
require "$build/hotallocd (make build)" test -x "$build/hotallocd"
require "$build/hotallocctl (make build)" test -x "$build/hotallocctl"

# A group of its own, so the test needs no hotalloc group on the host.
group=hatest$$
groupadd --system "$group"
on_exit "groupdel $group"
gid=$(getent group "$group" | cut -d: -f3)
member=(setpriv --reuid=65534 --regid=65534 --groups="$gid")
outsider=(setpriv --reuid=65534 --regid=65534 --clear-groups)
admin=(setpriv --reuid=65533 --regid=65534 --groups="$gid")

target=$(go_program sizes)
echo loop > "$work/loop"
"$target" < "$work/loop" >/dev/null &
cleanup_pid $!
# Binaries and the socket's parent must be reachable by uid 65534.
install -m 0755 "$build/hotallocctl" "$work/hotallocctl"
socket=$work/run/hotalloc.sock
"$build/hotallocd" --exe "sizes=$target" --socket "$socket" --socket.group "$group" --admin-uid 65533 \
  --web.listen-address 127.0.0.1:0 2>"$work/hotallocd.log" &
cleanup_pid $!
ctl() { "$@" "$work/hotallocctl" --socket "$socket" "${ctl_args[@]}"; }
wait_until 30 "$work/hotallocctl" --socket "$socket" status || { fail "hotallocd starts"; cat "$work/hotallocd.log"; exit 1; }

check "directory 0750 in the group" test "$(stat -c '%a %G' "$work/run")" = "750 $group"
check "socket 0660 in the group" test "$(stat -c '%a %G' "$socket")" = "660 $group"
rc_of() { local rc=0; "$@" >"$work/out" 2>"$work/err" || rc=$?; echo $rc; }
ctl_args=(status)
check "a group member reads status" test "$(rc_of ctl "${member[@]}")" = 0
ctl_args=(sizeclasses --target sizes)
check "a group member reads size classes" test "$(rc_of ctl "${member[@]}")" = 0
ctl_args=(status)
check "a non-member is refused: exit 77" test "$(rc_of ctl "${outsider[@]}")" = 77
check "with EACCES" grep -q 'Permission denied' "$work/err"
reload() { "$@" "$py" -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline(); f.write(json.dumps({"v": 1, "id": 1, "method": "reload"}) + "\n"); f.flush()
r = json.loads(f.readline()); print(r); sys.exit(0 if r["ok"] else 77 if r["error"]["code"] == "permission_denied" else 1)
' "$socket"; }
check "an admin method is refused to a member without admin rights" test "$(rc_of reload "${member[@]}")" = 77
check "and allowed to an admin uid" test "$(rc_of reload "${admin[@]}")" = 0
check "which reloads" wait_until 5 grep -q 'reloaded the command line: nothing changed' "$work/hotallocd.log"
address=$("$work/hotallocctl" --socket "$socket" --json status | "$py" -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["http_address"])')
counted() {
  local m; m=$(curl -sf "http://$address/metrics")
  grep -q 'hotalloc_socket_requests_total{method="reload",code="permission_denied"} 1' <<<"$m" &&
  grep -q 'hotalloc_socket_requests_total{method="reload",code="ok"} 1' <<<"$m" &&
  grep -q 'hotalloc_socket_requests_total{method="sizeclasses",code="ok"} 1' <<<"$m"
}
check "requests counted by method and code" wait_until 5 counted
finish
