// gzip (RFC 1952) in one call: how scrapes that accept it get /metrics, and
// how pprof files are stored.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace hotalloc {

// An error, with zlib's return code, when zlib fails or `in` is too large
// for one deflate call.
Result<std::string> gzip(std::string_view in);

}  // namespace hotalloc
