// hotalloc's per-size-class counts against the Go runtime's own
// runtime/metrics, for the same phase of a real program, over the test
// matrix: every Go version, normal, stripped and PIE builds; and cgo
// binaries, dynamically and statically linked.
//
// The program (tests/targets/sizes) stops at two quiescent points: each time
// runtime.GC() has just flushed every mcache and the runtime's counters were
// read. hotalloc counts at the same events (span refills and mcache flushes),
// so its deltas between those points must agree with the runtime's.
#include <gtest/gtest.h>

#include "support/go_matrix.h"
#include "support/sizes_phase.h"
#include "support/traced_program.h"

namespace hotalloc::testing {
namespace {

class SizeClassAccuracy : public TracedProgram, public ::testing::WithParamInterface<GoBuild> {
  std::string program() const override { return "sizes"; }
  GoBuild build() const override { return GetParam(); }
};

TEST_P(SizeClassAccuracy, MatchesRuntimeMetrics) {
  start();
  if (HasFatalFailure() || IsSkipped()) return;
  auto& d = *daemon_;

  // Placement: the span-accounting probes are attached, and every prologue
  // probe sits on an instruction the kernel emulates (return probes read
  // results where the RET is; on-demand tiers are not attached yet).
  auto status = d.call("status");
  ASSERT_TRUE(status) << status.error().message;
  int accounting = 0;
  for (const auto& t : status->at("targets"))
    for (const auto& p : t.at("probes")) {
      std::string probe = p.at("probe");
      if (probe == "refill" || probe == "release_all" || probe == "alloc_large") {
        accounting++;
        EXPECT_TRUE(p.at("attached").get<bool>()) << p.dump();
      }
      if (p.at("placement") != "return") {
        EXPECT_TRUE(p.at("emulated").get<bool>()) << "probe not on an emulated instruction: " << p.dump();
      }
    }
  EXPECT_EQ(accounting, 3) << status->dump();

  expect_phase_matches_runtime(*prog_, d, target_);
  prog_->write_line("quit");
}

HOTALLOC_GO_MATRIX(SizeClassAccuracy);

// Binaries with C in them: cgo, dynamically linked against libc (C code
// before Go's in .text), and the same linked fully statically.
INSTANTIATE_TEST_SUITE_P(WithC, SizeClassAccuracy, ::testing::ValuesIn(go_builds({"cgo", "static"})), go_build_name);

}  // namespace
}  // namespace hotalloc::testing
