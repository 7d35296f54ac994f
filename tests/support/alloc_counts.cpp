#include "support/alloc_counts.h"

#include <cmath>
#include <stdexcept>

namespace hotalloc::testing {

AllocTotals from_hotalloc(const nlohmann::json& sizeclasses, const std::string& target) {
  for (const auto& t : sizeclasses.at("targets")) {
    if (t.at("target") != target) continue;
    AllocTotals c;
    for (const auto& row : t.at("classes"))
      c.by_size[row.at("object_size").get<uint64_t>()] = row.at("objects").get<uint64_t>();
    c.objects = t.at("totals").at("objects").get<uint64_t>();
    c.bytes = t.at("totals").at("bytes").get<uint64_t>();
    c.tiny = t.at("tiny").at("objects").get<uint64_t>();
    c.large = t.at("large").at("objects").get<uint64_t>();
    return c;
  }
  throw std::runtime_error("no target " + target + " in " + sizeclasses.dump());
}

AllocTotals from_runtime(const nlohmann::json& d) {
  AllocTotals c;
  for (const auto& [size, n] : d.at("by_size").items()) c.by_size[std::stoull(size)] = n.get<uint64_t>();
  c.objects = d.at("objects").get<uint64_t>();
  c.bytes = d.at("bytes").get<uint64_t>();
  c.tiny = d.at("tiny").get<uint64_t>();
  c.large = d.at("large").get<uint64_t>();
  return c;
}

AllocTotals operator-(const AllocTotals& a, const AllocTotals& b) {
  AllocTotals d;
  for (const auto& [size, n] : a.by_size) {
    auto it = b.by_size.find(size);
    d.by_size[size] = n - (it == b.by_size.end() ? 0 : it->second);
  }
  d.objects = a.objects - b.objects;
  d.bytes = a.bytes - b.bytes;
  d.tiny = a.tiny - b.tiny;
  d.large = a.large - b.large;
  return d;
}

double relative_error(uint64_t got, uint64_t want) {
  if (want == 0) return got == 0 ? 0 : 1;
  return std::fabs(double(got) - double(want)) / double(want);
}

}  // namespace hotalloc::testing
