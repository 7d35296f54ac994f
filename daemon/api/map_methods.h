// The socket methods about Go maps: `maps`, `hotkeys`, `events` (read-only,
// from snapshots) and `map_inserts` (admin: switches the insert-probe tier,
// or opens a hot-key window with the probes on).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/handler.h"
#include "util/result.h"

namespace hotalloc::api {

class MapInsertControl {
 public:
  virtual ~MapInsertControl() = default;
  // Sets the insert-probe mode ("off", "on", "200ms/10s") when given, and
  // with for_ms > 0 turns the probes on for that long, opening a hot-key
  // window. The result is the `map_inserts` method's: mode, on, window.
  virtual Result<nlohmann::json> set_map_inserts(const std::optional<std::string>& mode, int64_t for_ms) = 0;
};

void add_map_methods(Handler& handler, Backend& backend, MapInsertControl& control);

}  // namespace hotalloc::api
