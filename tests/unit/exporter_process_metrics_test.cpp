#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "exporter/process_metrics.h"
#include "support/env.h"

namespace hotalloc::exporter {
namespace {

namespace fs = std::filesystem;

std::map<std::string, double> values(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, double> out;
  for (const auto& f : families) {
    EXPECT_EQ(f.metric.size(), 1u) << f.name;
    const auto& m = f.metric.at(0);
    out[f.name] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  return out;
}

class ExporterProcessMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::build_dir() + "/exporter-procfs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "self/fd");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& rel, const std::string& text) { std::ofstream(root_ / rel) << text; }

  fs::path root_;
};

// A fixture procfs: the comm holds ") (" to prove fields are counted from
// the last parenthesis, as proc(5) requires.
TEST_F(ExporterProcessMetrics, ReadsFixtureTree) {
  write("self/stat",
        "4242 (hot) (allocd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 5000 123456789 1000 "
        "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n");
  write("stat", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 99\n");
  write("self/limits",
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max processes             96365                96365                processes \n"
        "Max open files            20000                40000                files     \n");
  for (const char* fd : {"0", "1", "2"}) write(std::string("self/fd/") + fd, "");

  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto v = values(process_families(root_.string()));
  ASSERT_EQ(v.size(), 6u);
  EXPECT_DOUBLE_EQ(v["process_cpu_seconds_total"], 400 / ticks);
  EXPECT_DOUBLE_EQ(v["process_resident_memory_bytes"], 1000.0 * static_cast<double>(sysconf(_SC_PAGESIZE)));
  EXPECT_DOUBLE_EQ(v["process_virtual_memory_bytes"], 123456789);
  EXPECT_DOUBLE_EQ(v["process_start_time_seconds"], 1700000000 + 5000 / ticks);
  EXPECT_DOUBLE_EQ(v["process_open_fds"], 3);
  EXPECT_DOUBLE_EQ(v["process_max_fds"], 20000);
}

TEST_F(ExporterProcessMetrics, LeavesOutWhatCannotBeRead) {
  write("self/stat", "4242 (truncated) S 1 4242\n");
  auto v = values(process_families(root_.string()));
  EXPECT_EQ(v.size(), 1u);
  EXPECT_DOUBLE_EQ(v["process_open_fds"], 0);
}

TEST_F(ExporterProcessMetrics, ReadsThisProcess) {
  auto v = values(process_families());
  ASSERT_EQ(v.size(), 6u);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Started moments ago; boot time in /proc/stat is whole seconds.
  EXPECT_GT(v["process_start_time_seconds"], now - 600);
  EXPECT_LE(v["process_start_time_seconds"], now + 2);
  EXPECT_GT(v["process_resident_memory_bytes"], 0);
  EXPECT_GE(v["process_virtual_memory_bytes"], v["process_resident_memory_bytes"]);
  EXPECT_GE(v["process_open_fds"], 3);  // stdin, stdout, stderr at least
  EXPECT_GE(v["process_max_fds"], v["process_open_fds"]);
  EXPECT_GE(v["process_cpu_seconds_total"], 0);
}

}  // namespace
}  // namespace hotalloc::exporter
