// The exporter on a live daemon: a real scrape passes `promtool check
// metrics`, agrees with the socket API, and the health endpoints answer.
#include <unistd.h>

#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/alloc_counts.h"
#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/env.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(MetricsLive, ScrapeIsValidAndAgreesWithTheSocket) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto prom = fetched_tree("prometheus", {"prometheus/bookworm"});
  HOTALLOC_REQUIRE(prom.has_value(), "promtool (Debian's prometheus package) could not be fetched");
  auto bin = go_target("sizes", go_versions().back());
  ASSERT_TRUE(bin) << bin.error().message;

  auto prog = ChildProcess::spawn({*bin});
  ASSERT_TRUE(prog);
  ASSERT_TRUE(prog->read_line(10s));
  auto daemon = DaemonHarness::start({"--pid", std::to_string(prog->pid())});
  ASSERT_TRUE(daemon) << daemon.error().message;
  auto& d = **daemon;
  ASSERT_TRUE(prog->write_line("phase"));
  ASSERT_TRUE(prog->read_line(60s));

  auto status = d.call("status");
  ASSERT_TRUE(status);
  EXPECT_TRUE(d.http_get("/-/healthy"));
  EXPECT_TRUE(d.http_get("/-/ready"));
  auto landing = d.http_get("/");
  ASSERT_TRUE(landing);
  EXPECT_NE(landing->find("/metrics"), std::string::npos);

  // The program is idle now; wait for a collection after the socket's answer.
  auto sc = d.call("sizeclasses", {{"target", "sizes"}});
  ASSERT_TRUE(sc) << sc.error().message;
  AllocTotals want = from_hotalloc(*sc, "sizes");
  std::this_thread::sleep_for(600ms);
  auto text = d.metrics();
  ASSERT_TRUE(text) << text.error().message;

  std::smatch m;
  std::regex line24(R"(hotalloc_heap_alloc_objects_total\{target="sizes",size_class="24"\} ([0-9.e+]+))");
  ASSERT_TRUE(std::regex_search(*text, m, line24)) << *text;
  EXPECT_EQ(static_cast<uint64_t>(std::stod(m[1])), want.by_size[24]);
  for (const char* name : {"hotalloc_heap_large_alloc_objects_total", "hotalloc_heap_tiny_alloc_objects_total",
                           "hotalloc_span_refills_total", "hotalloc_target_info", "hotalloc_probe_attached",
                           "hotalloc_probe_hits_total", "hotalloc_events_dropped_total", "hotalloc_build_info"})
    EXPECT_NE(text->find(std::string("\n") + name), std::string::npos) << name << " missing";

  std::string file = "/tmp/hotalloc-scrape-" + std::to_string(getpid()) + ".txt";
  {
    FILE* f = fopen(file.c_str(), "w");
    ASSERT_TRUE(f);
    fwrite(text->data(), 1, text->size(), f);
    fclose(f);
  }
  auto lint = run_capture(*prom + "/usr/bin/promtool check metrics < " + file + " 2>&1");
  EXPECT_TRUE(lint) << "promtool check metrics failed on a live scrape: " << lint.error().message;
  unlink(file.c_str());
  prog->write_line("quit");
}

}  // namespace
}  // namespace hotalloc::testing
