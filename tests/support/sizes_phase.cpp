#include "support/sizes_phase.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/alloc_counts.h"

namespace hotalloc::testing {

using nlohmann::json;
using namespace std::chrono_literals;

void expect_phase_matches_runtime(ChildProcess& sizes, DaemonHarness& d, const std::string& target) {
  ASSERT_TRUE(sizes.write_line("mark"));
  ASSERT_TRUE(sizes.read_line(30s).value_or("").starts_with("marked "));
  auto before = d.call("sizeclasses", {{"target", target}});
  ASSERT_TRUE(before) << before.error().message;

  ASSERT_TRUE(sizes.write_line("phase"));
  auto line = sizes.read_line(60s);
  ASSERT_TRUE(line) << "the test program did not report its phase";
  AllocTotals runtime = from_runtime(json::parse(*line));
  auto after = d.call("sizeclasses", {{"target", target}});
  ASSERT_TRUE(after) << after.error().message;

  AllocTotals got = from_hotalloc(*after, target) - from_hotalloc(*before, target);
  int checked = 0;
  for (const auto& [size, want] : runtime.by_size) {
    if (want < 1000) continue;
    checked++;
    EXPECT_LE(relative_error(got.by_size[size], want), 0.01)
        << "size class " << size << ": hotalloc " << got.by_size[size] << ", runtime " << want;
  }
  EXPECT_GE(checked, 10) << "the workload should exercise at least 10 size classes with >= 1000 objects";
  EXPECT_LE(relative_error(got.objects, runtime.objects), 0.005)
      << "objects: hotalloc " << got.objects << ", runtime " << runtime.objects;
  EXPECT_LE(relative_error(got.bytes, runtime.bytes), 0.005)
      << "bytes: hotalloc " << got.bytes << ", runtime " << runtime.bytes;
  EXPECT_LE(relative_error(got.tiny, runtime.tiny), 0.01)
      << "tiny: hotalloc " << got.tiny << ", runtime " << runtime.tiny;
  EXPECT_EQ(got.large, runtime.large);
}

}  // namespace hotalloc::testing
