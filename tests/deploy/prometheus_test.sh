#!/usr/bin/env bash
# The Prometheus and Grafana side: the scrape config and rules pass promtool
# (check and unit tests), the dashboard passes the linter, and a real
# Prometheus scraping a real hotallocd that traces a Go workload returns data
# for every panel's query, variables resolved as Grafana would.
source "$(dirname "$0")/lib.sh"
require "root (hotallocd loads BPF)" test "$(id -u)" -eq 0
require_python_yaml
require "$build/hotallocd (make build)" test -x "$build/hotallocd"
prom=$("$top/tools/fetch-deb.sh" prometheus prometheus/bookworm) || { echo "  cannot fetch Debian's prometheus"; exit 77; }
promtool=$prom/usr/bin/promtool

check "promtool check config (scrape config and rules)" "$promtool" check config "$top/deploy/prometheus/prometheus.yml"
check "promtool check rules" "$promtool" check rules "$top/deploy/prometheus/hotalloc.rules.yml"
check "promtool test rules" "$promtool" test rules "$top/tests/deploy/hotalloc.rules.test.yml"
check "dashboard lint" "$top/tools/lint-dashboard.py" "$top/deploy/grafana/hotalloc.json"
# The linter must catch what it claims to.
"$py" - "$top/deploy/grafana/hotalloc.json" "$work/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = next(p for p in d["panels"] if p["type"] == "timeseries")
p["targets"][0]["expr"] = p["targets"][0]["expr"].replace("$__rate_interval", "5m")
p.pop("description")
json.dump(d, open(sys.argv[2], "w"))
PY
lint_bad() { ! "$top/tools/lint-dashboard.py" "$work/bad.json" > "$work/lint.out" && grep -q 'not \[\$__rate_interval\]' "$work/lint.out" && grep -q 'no description' "$work/lint.out"; }
check "dashboard lint catches a fixed rate window and a missing description" lint_bad
check "provisioning examples are YAML (Debian's python3-yaml)" "$py" -c 'import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]' \
  "$top"/deploy/grafana/provisioning/*/*.yaml

# A workload with maps, GC and allocations of every kind; a second target
# that cannot be traced, for the attach-error panel.
workload=$(go_program demo/workload)
"$workload" >/dev/null &
cleanup_pid $!
mkdir -p "$work/run"
"$build/hotallocd" --exe "workload=$workload" --exe /bin/true --map-inserts on \
  --socket "$work/run/hotalloc.sock" --web.listen-address 127.0.0.1:0 2>"$work/hotallocd.log" &
daemon=$!
cleanup_pid $daemon
ctl() { "$build/hotallocctl" --socket "$work/run/hotalloc.sock" "$@"; }
wait_until 30 ctl status || { fail "hotallocd starts"; cat "$work/hotallocd.log"; exit 1; }
address=$(ctl --json status | "$py" -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["http_address"])')

port=$((20000 + RANDOM % 10000))
cat > "$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$top/deploy/prometheus/hotalloc.rules.yml"]
scrape_configs:
  - job_name: hotalloc
    static_configs:
      - targets: ["$address"]
YML
"$prom/usr/bin/prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn 2>"$work/prometheus.log" &
cleanup_pid $!
api=http://127.0.0.1:$port
up() { curl -sf "$api/api/v1/targets" | grep -q '"health":"up"'; }
check "Prometheus scrapes hotallocd" wait_until 60 up
# Rates over the dashboard's $__rate_interval need that much history.
interval=10s
sleep 12
ctl status >/dev/null
sleep 2
check "every dashboard panel returns data" "$py" "$top/tests/deploy/dashboard_queries.py" \
  "$top/deploy/grafana/hotalloc.json" "$api" "$interval"
recorded() { curl -sf "$api/api/v1/query" --data-urlencode 'query=target:hotalloc_heap_alloc_bytes:rate5m{target="workload"} > 0' | grep -q '"value"'; }
check "recording rules evaluate on live data" wait_until 10 recorded
scrape() { curl -sf "http://$address/metrics" | "$promtool" check metrics; }
check "the live exposition passes promtool check metrics" scrape
finish
