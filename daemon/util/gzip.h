// gzip (RFC 1952) in one call: how scrapes that accept it get /metrics, and
// how pprof files are stored.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hotalloc {

// Nothing when zlib fails or `in` is too large for one deflate call.
std::optional<std::string> gzip(std::string_view in);

}  // namespace hotalloc
