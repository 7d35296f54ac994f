// A Go test program that takes one command per stdin line and answers each
// with one JSON line (after a first line "ready PID GOVERSION"), and a
// daemon tracing it: the fixture of the tests that drive such a program
// (mapslab's map tests, for one). A suite says which program and which
// build of it by overriding program() and build().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/daemon_harness.h"
#include "support/go_matrix.h"

namespace hotalloc::testing {

class TracedProgram : public ::testing::Test {
 protected:
  virtual std::string program() const = 0;
  virtual GoBuild build() const = 0;

  // Starts the program and a daemon tracing it with `args` added.
  void start(const std::vector<std::string>& args = {});

  // One command and its JSON answer.
  nlohmann::json command(const std::string& line,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // The maps result once `pred` holds for one of the maps created in `function`.
  Result<nlohmann::json> wait_map(const std::string& function,
                                  const std::function<bool(const nlohmann::json&)>& pred);

  std::optional<ChildProcess> prog_;
  std::unique_ptr<DaemonHarness> daemon_;
  std::string target_;
};

// The default build of program() on one Go version, the test's parameter:
// the fixture of the suites instantiated over go_versions().
class TracedProgramPerVersion : public TracedProgram, public ::testing::WithParamInterface<std::string> {
 protected:
  GoBuild build() const override { return {GetParam(), "default"}; }
};

}  // namespace hotalloc::testing
