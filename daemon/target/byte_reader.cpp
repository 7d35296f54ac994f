#include "target/byte_reader.h"

namespace hotalloc::target {

std::optional<std::string_view> read_cstring(std::span<const uint8_t> bytes, uint64_t off) {
  if (off >= bytes.size()) return std::nullopt;
  const auto* start = bytes.data() + off;
  const auto* nul = static_cast<const uint8_t*>(std::memchr(start, 0, bytes.size() - off));
  if (!nul) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(start), static_cast<size_t>(nul - start));
}

std::optional<uint64_t> ByteReader::uvarint() {
  uint64_t value = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (pos_ >= bytes_.size()) return std::nullopt;
    uint8_t b = bytes_[pos_++];
    // The tenth byte may carry only the top bit of a 64-bit value.
    if (shift == 63 && b > 1) return std::nullopt;
    value |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return value;
  }
  return std::nullopt;
}

std::optional<std::string_view> ByteReader::bytes(uint64_t len) {
  if (!in_bounds(pos_, len, bytes_.size())) return std::nullopt;
  std::string_view out(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
  pos_ += len;
  return out;
}

}  // namespace hotalloc::target
