// Request parameters shared by the socket methods: typed lookups that
// answer invalid_params with the parameter's name, and the choice of
// targets a request is about.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/handler.h"
#include "api/protocol.h"
#include "model/snapshot.h"

namespace hotalloc::api {

// The most entries limit_param lets a request ask for.
inline constexpr uint64_t kMaxLimit = 4096;

// A non-negative integer, or nullopt when absent or null.
std::expected<std::optional<uint64_t>, ApiError> uint_param(const Request& r, const char* name);
// The "limit" param: `fallback` when absent or null, and at most kMaxLimit.
std::expected<size_t, ApiError> limit_param(const Request& r, size_t fallback);
// A string, or nullopt when absent or null.
std::expected<std::optional<std::string>, ApiError> string_param(const Request& r, const char* name);

// A name from the peer (a method, a target) may be up to a request long;
// error messages quote only its start.
std::string quote_start(std::string_view s);

// The targets a request is about: the ones named `wanted`, else every target.
struct Selection {
  std::string name;  // the first selected target's (others may differ when not named)
  std::vector<uint32_t> ids;
  bool named = false;  // chosen by name rather than all by default
};
// target_not_found for a name no target has; with need_one and no name,
// invalid_params when targets of several names are traced.
std::expected<Selection, ApiError> select(const model::Snapshot& s, const std::optional<std::string>& wanted,
                                          bool need_one);

// What a request about targets works on: a fresh snapshot and the targets
// its "target" param names (see select).
struct Scope {
  model::SnapshotPtr snap;
  Selection sel;

  // The selected targets' views (several when one name covers several
  // specs' targets, or none is named), in the snapshot's order.
  std::vector<const model::TargetView*> views() const;
};
std::expected<Scope, ApiError> scope(Backend& backend, const Request& r, bool need_one);

// A selected target's Go maps or slice sites in the snapshot, or null when
// nothing was collected for it (or nothing at all yet).
const model::TargetMaps* target_maps(const model::Snapshot& s, uint32_t id);
const model::TargetSlices* target_slices(const model::Snapshot& s, uint32_t id);

}  // namespace hotalloc::api
