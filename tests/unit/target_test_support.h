// Shared by the target_*_test.cpp files: which Go versions to cover, and
// file helpers for building corrupt inputs from real binaries.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/env.h"

namespace hotalloc::target::testing {

// Every supported series whose toolchain is in the cache, plus whatever
// $HOTALLOC_GO_VERSIONS asks for.
inline std::vector<std::string> all_go_versions() {
  const char* cache = std::getenv("HOTALLOC_CACHE");
  std::filesystem::path deb = std::filesystem::path(cache && *cache ? cache : "/var/cache/hotalloc") / "deb";
  std::vector<std::string> out;
  for (const char* v : {"1.19", "1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27"})
    if (std::filesystem::exists(deb / (std::string("go-") + v))) out.push_back(v);
  for (const auto& v : hotalloc::testing::go_versions())
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  return out;
}

// Functions hotalloc hooks in some Go version (reference §1); a binary has
// the subset its version and program reach.
inline const std::vector<std::string>& hook_functions() {
  static const std::vector<std::string> hooks = {
      "runtime.mallocgc",
      "runtime.newobject",
      "runtime.(*mcache).refill",
      "runtime.(*mcache).releaseAll",
      "runtime.(*mcache).allocLarge",
      "runtime.(*mcache).nextFree",
      "runtime.(*mcentral).cacheSpan",
      "runtime.(*mheap).alloc",
      "runtime.mProf_Malloc",
      "runtime.mProf_Free",
      "runtime.profilealloc",
      "runtime.gcStart",
      "runtime.gcMarkDone",
      "runtime.gcMarkTermination",
      "runtime.makemap",
      "runtime.makemap_small",
      "runtime.mapassign",
      "runtime.mapassign_fast32",
      "runtime.mapassign_fast64",
      "runtime.mapassign_fast64ptr",
      "runtime.mapassign_faststr",
      "runtime.mapclear",
      "runtime.mapdelete_fast64",
      "runtime.mapdelete_faststr",
      "runtime.hashGrow",
      "runtime.growWork",
      "runtime.growWork_faststr",
      "runtime.evacuate",
      "runtime.evacuate_fast64",
      "runtime.mallocgcTiny",
      "runtime.mallocgcSmallNoscan",
      "runtime.mallocgcSmallScanNoHeader",
      "runtime.mallocgcSmallScanHeader",
      "runtime.mallocgcLarge",
      "runtime.mallocgcSmallNoScanSC3",
      "runtime.mallocgcSmallScanNoHeaderSC3",
      "runtime.mallocgcTinySC2",
      "internal/runtime/maps.(*Map).growToSmall",
      "internal/runtime/maps.(*Map).growToTable",
      "internal/runtime/maps.(*Map).installTableSplit",
      "internal/runtime/maps.(*table).grow",
      "internal/runtime/maps.(*table).split",
      "internal/runtime/maps.(*table).rehash",
      "internal/runtime/maps.(*table).pruneTombstones",
  };
  return hooks;
}

// What `go version` says of the toolchain, e.g. "go1.26.11".
inline std::string toolchain_version(const std::string& version) {
  auto root = hotalloc::testing::go_root(version);
  if (!root) return {};
  std::ifstream in(*root + "/VERSION");
  std::string line;
  std::getline(in, line);
  return line;
}

// The "ready PID VERSION" line the test programs print, as VERSION.
inline std::string reported_version(const std::string& binary) {
  auto out = hotalloc::testing::run_capture("echo quit | '" + binary + "'");
  if (!out) return {};
  std::string line = out->substr(0, out->find('\n'));
  return line.substr(line.rfind(' ') + 1);
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A fresh directory under the build tree, removed with the object.
using hotalloc::testing::TempDir;

}  // namespace hotalloc::target::testing

// Builds tests/targets/NAME with Go VERSION in MODE into `var`, or skips
// (fails under CI) when that is impossible.
#define TARGET_BINARY(var, name, version, mode)                                                         \
  auto var##_built = ::hotalloc::testing::go_target(name, version, mode);                               \
  HOTALLOC_REQUIRE(var##_built.has_value(), var##_built ? std::string() : var##_built.error().message); \
  const std::string var = *var##_built
