#!/usr/bin/env bash
# The Kubernetes manifests, offline: each document has the fields its kind
# requires, the DaemonSet keeps to what hotalloc needs and no more (hostPID,
# capabilities not privileged, read-only root and cgroupfs, the socket
# directory from the host), names resolve across documents, and the
# ConfigMap's config passes hotallocd's own check, and every object
# validates against the Kubernetes schema of its kind.
source "$(dirname "$0")/lib.sh"
require_python_yaml
require "$build/hotallocd (make build)" test -x "$build/hotallocd"

check "manifests are consistent and minimal" "$py" - "$top"/deploy/kubernetes/*.yaml <<'PY'
import sys, yaml
docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]
problems = []
def need(cond, what):
    if not cond: problems.append(what)
by_kind = {}
for d in docs:
    need({"apiVersion", "kind", "metadata"} <= d.keys(), f"{d.get('kind')}: apiVersion, kind and metadata")
    need("name" in d.get("metadata", {}), f"{d.get('kind')}: metadata.name")
    by_kind.setdefault(d["kind"], []).append(d)
ds = by_kind["DaemonSet"][0]
need(ds["apiVersion"] == "apps/v1", "DaemonSet is apps/v1")
spec = ds["spec"]; pod = spec["template"]["spec"]
need(spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(), "selector matches the pod labels")
need(pod.get("hostPID") is True, "hostPID")
need(not pod.get("hostNetwork"), "no hostNetwork")
c = pod["containers"][0]; sc = c["securityContext"]
need(sc.get("privileged") is False, "not privileged")
need(sc["capabilities"]["drop"] == ["ALL"], "drops all capabilities")
need(sorted(sc["capabilities"]["add"]) == ["BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE", "SYS_RESOURCE"], "adds exactly the unit's capabilities")
need(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False, "read-only root, no escalation")
mounts = {m["name"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
need(mounts.keys() == vols.keys(), "every volume mounted, every mount a volume")
need(mounts["cgroup"]["mountPath"] == "/sys/fs/cgroup" and mounts["cgroup"].get("readOnly"), "cgroupfs read-only")
need(vols["socket"]["hostPath"]["path"] == "/run/hotalloc" and mounts["socket"]["mountPath"] == "/run/hotalloc", "socket directory from the host")
# tracer/workload.cpp names pods and containers from these, at the host's paths.
for name, path in (("pod-logs", "/var/log/pods"), ("container-logs", "/var/log/containers")):
    need(vols[name]["hostPath"]["path"] == path and mounts[name]["mountPath"] == path and mounts[name].get("readOnly"), f"{path} read-only from the host")
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
need(ports.get("metrics") == 17911, "metrics port 17911")
for probe, path in (("readinessProbe", "/-/ready"), ("livenessProbe", "/-/healthy")):
    need(c[probe]["httpGet"]["path"] == path and c[probe]["httpGet"]["port"] == "metrics", probe)
cm = {d["metadata"]["name"]: d for d in by_kind["ConfigMap"]}
need(vols["config"]["configMap"]["name"] in cm, "the config volume names the ConfigMap")
svc = by_kind["Service"][0]
need(svc["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items(), "Service selects the pods")
need(svc["spec"]["ports"][0]["targetPort"] == "metrics", "Service targets the metrics port")
pm = by_kind["PodMonitor"][0]
need(pm["spec"]["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(), "PodMonitor selects the pods")
need(pm["spec"]["podMetricsEndpoints"][0]["port"] == "metrics", "PodMonitor scrapes the metrics port")
namespaces = {d["metadata"]["name"] for d in by_kind["Namespace"]}
for d in docs:
    if d["kind"] != "Namespace":
        need(d["metadata"].get("namespace") in namespaces, f"{d['kind']} in a namespace the manifests create")
for p in problems: print(p)
sys.exit(1 if problems else 0)
PY
"$py" -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap": open(sys.argv[2], "w").write(d["data"]["hotalloc.toml"])' \
  "$top/deploy/kubernetes/daemonset.yaml" "$work/hotalloc.toml"
check "the ConfigMap's config is valid" "$build/hotallocd" --config "$work/hotalloc.toml" --check-config

# Schemas: every object against the Kubernetes API schema of its kind, as
# Debian's python3-kubernetes models it (the PodMonitor against the subset of
# the Prometheus operator's CRD that k8s_schema.py spells out); offline.
require "python3-kubernetes (tools/deps.sh)" "$py" -c 'import kubernetes.client'
check "every object validates against its Kubernetes schema" \
  "$top/tests/deploy/k8s_schema.py" "$top"/deploy/kubernetes/*.yaml
# The schemas must catch what they claim to: a port that is not a number, a
# DaemonSet without a selector.
"$py" -c 'import sys, yaml
docs = [d for f in sys.argv[2:] for d in yaml.safe_load_all(open(f)) if d]
ds = next(d for d in docs if d["kind"] == "DaemonSet")
ds["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "metrics"
del ds["spec"]["selector"]
yaml.safe_dump_all(docs, open(sys.argv[1], "w"))' "$work/broken.yaml" "$top"/deploy/kubernetes/*.yaml
schema_rejects() {
  ! "$top/tests/deploy/k8s_schema.py" "$work/broken.yaml" >"$work/schema.out" &&
    grep -q 'containerPort: must be int' "$work/schema.out" &&
    grep -q 'spec.selector: required field' "$work/schema.out"
}
check "the schema check rejects a broken DaemonSet" schema_rejects
finish
