// Bad targets are refused with a clear reason while the daemon keeps running
// and keeps tracing its good target.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

int unused_pid() {
  for (int pid = 4000000; pid > 1000; pid -= 7919)
    if (kill(pid, 0) != 0 && errno == ESRCH) return pid;
  return -1;
}

const json* target_with_spec(const json& targets, const std::string& spec) {
  for (const auto& t : targets.at("targets"))
    if (t.at("spec").get<std::string>().find(spec) != std::string::npos) return &t;
  return nullptr;
}

uint64_t total_objects(const json& sizeclasses, const std::string& name) {
  for (const auto& t : sizeclasses.at("targets"))
    if (t.at("target") == name) return t.at("totals").at("objects").get<uint64_t>();
  return 0;
}

TEST(Refusals, BadTargetsFailClearlyAndTheGoodOneIsTraced) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto go = go_target("sizes", go_versions().front());
  ASSERT_TRUE(go) << go.error().message;

  // A truncated copy of a Go binary.
  TempDir dir(std::filesystem::temp_directory_path() / "hotalloc-refusals");
  ASSERT_FALSE(dir.path().empty()) << "could not make a temporary directory";
  std::string truncated = dir.path() + "/truncated-go";
  {
    std::ifstream in(*go, std::ios::binary);
    std::vector<char> head(200 * 1024);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(truncated, std::ios::binary).write(head.data(), in.gcount());
    chmod(truncated.c_str(), 0755);
  }

  auto good = ChildProcess::spawn({*go});
  ASSERT_TRUE(good);
  ASSERT_TRUE(good->read_line(10s));
  auto c_program = ChildProcess::spawn({"/bin/sleep", "120"}, {false, false, ""});
  ASSERT_TRUE(c_program);
  int gone = unused_pid();
  ASSERT_GT(gone, 0);
  // A process that has exited but is not reaped yet: /proc keeps its stat, not its executable.
  auto zombie = ChildProcess::spawn({"/bin/true"}, {false, false, ""});
  ASSERT_TRUE(zombie);
  auto is_zombie = [&] {
    std::ifstream stat("/proc/" + std::to_string(zombie->pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    return text.find(") Z ") != std::string::npos;
  };
  ASSERT_TRUE(eventually(is_zombie, 2s, 20ms)) << "pid " << zombie->pid() << " did not become a zombie";

  auto daemon = DaemonHarness::start({"--pid", std::to_string(c_program->pid()), "--pid", std::to_string(gone),
                                      "--pid", std::to_string(zombie->pid()), "--exe", truncated, "--pid",
                                      std::to_string(good->pid())});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;

  auto targets = d.call("targets");
  ASSERT_TRUE(targets) << targets.error().message;
  struct Expect {
    std::string spec;
    std::string words;  // the error must say this
  };
  for (const auto& e : {Expect{"pid:" + std::to_string(c_program->pid()), "Go"},
                        Expect{"pid:" + std::to_string(gone), "does not exist"},
                        Expect{"pid:" + std::to_string(zombie->pid()), "no executable"},
                        Expect{"exe:" + truncated, truncated}}) {
    const json* t = target_with_spec(*targets, e.spec);
    ASSERT_TRUE(t) << "no target for " << e.spec << " in " << targets->dump();
    EXPECT_EQ(t->at("state"), "failed") << t->dump();
    EXPECT_NE(t->at("error").get<std::string>().find(e.words), std::string::npos)
        << e.spec << ": the error should mention \"" << e.words << "\": " << t->at("error");
  }

  const json* ok = target_with_spec(*targets, "pid:" + std::to_string(good->pid()));
  ASSERT_TRUE(ok) << targets->dump();
  EXPECT_EQ(ok->at("state"), "attached") << ok->dump();
  std::string name = ok->at("name");

  // The good target keeps being counted.
  auto base = d.call("sizeclasses", {{"target", name}});
  ASSERT_TRUE(base) << base.error().message;
  ASSERT_TRUE(good->write_line("loop"));
  uint64_t start = total_objects(*base, name);
  auto grew = d.wait_for("sizeclasses", {{"target", name}},
                         [&](const json& r) { return total_objects(r, name) > start + 100000; }, 20s);
  EXPECT_TRUE(grew) << grew.error().message;
  EXPECT_TRUE(d.process().running()) << d.log();
}

}  // namespace
}  // namespace hotalloc::testing
