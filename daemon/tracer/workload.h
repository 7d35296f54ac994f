// Which Kubernetes container a process runs in, from its cgroup path, so
// that targets found on a node carry namespace, pod and container labels.
//
// The kubelet puts every container in a cgroup whose path holds the pod's
// UID and the container's ID, whatever the cgroup driver:
//   systemd:  .../kubepods-burstable-pod<uid, _ for ->.slice/cri-containerd-<id>.scope
//   cgroupfs: .../kubepods/burstable/pod<uid>/<id>
// (seen from inside hotalloc's own container the path may start with
// "/../.."; only its segments matter). Names are not in the path: the
// kubelet's log directories on the node have them, <log>/pods/
// NAMESPACE_POD_UID/ and <log>/containers/POD_NAMESPACE_CONTAINER-ID.log
// (Kubernetes names never contain "_"). Without those directories the pod
// is named by its UID and the container by its short ID.
#pragma once

#include <optional>
#include <string>

#include "model/snapshot.h"

namespace hotalloc::tracer {

struct PodCgroup {
  std::string pod_uid;       // "1f0e...-..." as the API server shows it
  std::string container_id;  // 64 hex digits
};

// The pod and container a cgroup path names; nothing outside Kubernetes.
std::optional<PodCgroup> parse_pod_cgroup(const std::string& cgroup);

// Names for them from the kubelet's log directories under `log_root`
// ("/var/log" on a node).
model::Workload resolve_workload(const PodCgroup& ids, const std::string& log_root);

}  // namespace hotalloc::tracer
