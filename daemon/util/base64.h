// Base64 (RFC 4648, with padding): how binary answers (pprof profiles)
// travel in the socket protocol's JSON lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hotalloc {

std::string base64_encode(std::string_view bytes);
// Nothing when `text` is not padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace hotalloc
