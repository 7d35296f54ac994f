// Allocation counts as the sizes test program reports them (runtime/metrics)
// and as hotalloc's `sizeclasses` answers, in one shape to compare.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace hotalloc::testing {

struct AllocTotals {
  std::map<uint64_t, uint64_t> by_size;  // object size -> objects
  uint64_t objects = 0, bytes = 0, tiny = 0, large = 0;
};

// One target of a `sizeclasses` result; throws (failing the test) when absent.
AllocTotals from_hotalloc(const nlohmann::json& sizeclasses, const std::string& target);
// What tests/targets/sizes prints after "marked " or for "phase".
AllocTotals from_runtime(const nlohmann::json& counters);
AllocTotals operator-(const AllocTotals& a, const AllocTotals& b);
// |got - want| / want (0 when both are 0).
double relative_error(uint64_t got, uint64_t want);

}  // namespace hotalloc::testing
