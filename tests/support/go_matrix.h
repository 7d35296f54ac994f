// The test matrix: Go versions x build modes.
//
// Every BPF test that traces a Go program and should hold on every supported
// toolchain is a TEST_P over GoBuild, instantiated with HOTALLOC_GO_MATRIX.
// That names its cases "GoMatrix/<Suite>.<Test>/go1_26_stripped", which is
// how `make test-matrix` finds them: it runs bpf_tests with the filter
// "GoMatrix/*", every supported version and the modes default, stripped and
// pie, and writes the README's support table from the results. A plain
// `make test-bpf` runs the same cases for $HOTALLOC_GO_VERSIONS x
// $HOTALLOC_BUILD_MODES (by default 1.19 and 1.26, default and stripped).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hotalloc::testing {

struct GoBuild {
  std::string version;  // "1.26"
  std::string mode;     // a tools/go-build-target.sh mode: default, stripped, pie, ...
};

void PrintTo(const GoBuild& b, std::ostream* os);

// $HOTALLOC_BUILD_MODES (space-separated), else default and stripped.
std::vector<std::string> build_modes();

// go_versions() x build_modes().
std::vector<GoBuild> go_builds();
// go_versions() x `modes`, for instantiations outside the matrix.
std::vector<GoBuild> go_builds(const std::vector<std::string>& modes);

// "go1_26_stripped": the parameter part of a matrix case's name.
std::string go_build_name(const ::testing::TestParamInfo<GoBuild>& info);
// "go1_26", for tests parameterized over go_versions() alone.
std::string go_version_name(const ::testing::TestParamInfo<std::string>& info);

}  // namespace hotalloc::testing

#define HOTALLOC_GO_MATRIX(suite)                                                                      \
  INSTANTIATE_TEST_SUITE_P(GoMatrix, suite, ::testing::ValuesIn(::hotalloc::testing::go_builds()), \
                           ::hotalloc::testing::go_build_name)
