#include "support/go_matrix.h"

#include <algorithm>

#include "support/env.h"

namespace hotalloc::testing {

void PrintTo(const GoBuild& b, std::ostream* os) { *os << "Go " << b.version << " (" << b.mode << ")"; }

std::vector<std::string> build_modes() { return env_words("HOTALLOC_BUILD_MODES", "default stripped"); }

std::vector<GoBuild> go_builds() { return go_builds(build_modes()); }

std::vector<GoBuild> go_builds(const std::vector<std::string>& modes) {
  std::vector<GoBuild> out;
  for (const auto& v : go_versions())
    for (const auto& m : modes) out.push_back({v, m});
  return out;
}

std::string go_version_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string v = info.param;
  std::replace(v.begin(), v.end(), '.', '_');
  return "go" + v;
}

std::string go_build_name(const ::testing::TestParamInfo<GoBuild>& info) {
  return go_version_name({info.param.version, info.index}) + "_" + info.param.mode;
}

}  // namespace hotalloc::testing
