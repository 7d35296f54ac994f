// The socket methods over targets' sampled heap profiles:
//   sites  (read-only) the top allocation sites by allocated or live bytes;
//   pprof  (admin)     a gzipped pprof heap profile, streamed in base64 chunks.
#pragma once

#include "api/handler.h"

namespace hotalloc::api {

// Raw bytes per pprof chunk: 48 KiB, 64 KiB of base64 on the wire.
inline constexpr size_t kPprofChunkBytes = 48 * 1024;

void add_heap_methods(Handler& handler, Backend& backend);

}  // namespace hotalloc::api
