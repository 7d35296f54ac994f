// Kubernetes labels for traced processes: the pod and container IDs read
// from cgroup paths as each cgroup driver and runtime writes them, names from
// the kubelet's log directories, and the labels on hotalloc_target_info.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "exporter/metrics.h"
#include "support/env.h"
#include "tracer/workload.h"

namespace hotalloc::tracer {
namespace {

namespace fs = std::filesystem;

const std::string kId = "3f4a5b6c7d8e9f0011223344556677889900aabbccddeeff0011223344556677";

TEST(Workload, PodAndContainerFromEveryCgroupLayout) {
  struct Case {
    std::string path, uid;
  } cases[] = {
      // systemd driver, containerd; burstable and guaranteed QoS
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8d1c0e2a_51f7_4a3b_9c1d_0e2f3a4b5c6d.slice/"
       "cri-containerd-" + kId + ".scope",
       "8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d"},
      {"/kubepods.slice/kubepods-pod8d1c0e2a_51f7_4a3b_9c1d_0e2f3a4b5c6d.slice/crio-" + kId + ".scope",
       "8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d"},
      // cgroupfs driver
      {"/kubepods/besteffort/pod8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d/" + kId, "8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d"},
      // seen from inside a container with its own cgroup namespace
      {"/../../kubepods-besteffort-pod8d1c0e2a_51f7_4a3b_9c1d_0e2f3a4b5c6d.slice/cri-containerd-" + kId + ".scope",
       "8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d"},
  };
  for (const auto& c : cases) {
    auto pod = parse_pod_cgroup(c.path);
    ASSERT_TRUE(pod) << c.path;
    EXPECT_EQ(pod->pod_uid, c.uid) << c.path;
    EXPECT_EQ(pod->container_id, kId) << c.path;
  }
  // Not a container of a pod.
  for (const std::string& path : std::vector<std::string>{"/system.slice/api.service", "/user.slice/user-1000.slice/session-2.scope", "/",
                           "/kubepods.slice/kubepods-burstable.slice",
                           "/kubepods.slice/kubepods-pod8d1c0e2a.slice/crio-conmon-" + kId + ".scope",
                           "/docker/" + kId, ""})
    EXPECT_FALSE(parse_pod_cgroup(path)) << path;
}

TEST(Workload, NamesFromTheKubeletsLogDirectories) {
  const hotalloc::testing::TempDir tmp(fs::path(hotalloc::testing::build_dir()) / "tmp-kubelet");
  ASSERT_FALSE(tmp.path().empty()) << "mkdtemp failed";
  const fs::path root = tmp.path();
  fs::create_directories(root / "pods" / "payments_api-7d9f8-xk2p4_8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d" / "server");
  fs::create_directories(root / "pods" / "other_web-1_00000000-0000-0000-0000-000000000000");
  fs::create_directories(root / "containers");
  std::ofstream(root / "containers" / ("api-7d9f8-xk2p4_payments_server-" + kId + ".log"));
  std::ofstream(root / "containers" / "web-1_other_nginx-0000.log");

  PodCgroup ids{"8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d", kId};
  model::Workload w = resolve_workload(ids, root);
  EXPECT_EQ(w.namespace_name, "payments");
  EXPECT_EQ(w.pod, "api-7d9f8-xk2p4");
  EXPECT_EQ(w.container, "server");

  // Without the directories: the pod by UID, the container by short ID.
  model::Workload bare = resolve_workload(ids, root / "missing");
  EXPECT_EQ(bare.namespace_name, "");
  EXPECT_EQ(bare.pod, "8d1c0e2a-51f7-4a3b-9c1d-0e2f3a4b5c6d");
  EXPECT_EQ(bare.container, kId.substr(0, 12));
}

TEST(Workload, TargetInfoCarriesTheLabels) {
  model::Snapshot s;
  model::TargetView t;
  t.name = "api";
  t.processes = {{10, 1, true, {"payments", "api-7d9f8-xk2p4", "server"}}, {11, 1, true, {}}};
  s.targets = {t};
  prometheus::TextSerializer text;
  std::string out = text.Serialize(exporter::build_families(s));
  EXPECT_NE(out.find("hotalloc_target_info{target=\"api\",pid=\"10\",exe=\"\",go_version=\"\",namespace=\"payments\","
                     "pod=\"api-7d9f8-xk2p4\",container=\"server\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("hotalloc_target_info{target=\"api\",pid=\"11\",exe=\"\",go_version=\"\"} 1\n"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace hotalloc::tracer
