// The size-class ground truth as BPF tests use it: tests/targets/sizes runs
// one allocation phase between two runtime.GC()-flushed points and prints
// what its own runtime/metrics counted; hotalloc's deltas over the same
// phase must agree.
#pragma once

#include <string>

#include "support/child_process.h"
#include "support/daemon_harness.h"

namespace hotalloc::testing {

// Sends "mark" and "phase" to the sizes program traced as `target` and
// compares: every size class with 1,000+ objects within 1% (at least 10 such
// classes), objects and bytes within 0.5%, tiny allocations within 1%,
// large ones exactly. Failures are recorded as test failures.
void expect_phase_matches_runtime(ChildProcess& sizes, DaemonHarness& daemon, const std::string& target);

}  // namespace hotalloc::testing
