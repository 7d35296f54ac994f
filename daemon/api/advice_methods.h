// The socket methods over what hotalloc advises (read-only, from snapshots):
//   slices  slice growth per append site (runtime.growslice's callers);
//   advise  ranked advice for one target: maps and slices to presize, keys
//           to shard, maps to reuse (model/advice.h), each with its evidence.
#pragma once

#include "api/handler.h"

namespace hotalloc::api {

void add_advice_methods(Handler& handler, Backend& backend);

}  // namespace hotalloc::api
