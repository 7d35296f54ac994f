#include "model/map_keys.h"

#include <cstring>

#include <fmt/format.h>

namespace hotalloc::model {
namespace {

std::string hex(std::span<const uint8_t> bytes) {
  std::string out = "0x";
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

uint64_t little_endian(std::span<const uint8_t> bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size() && i < 8; i++) v |= uint64_t(bytes[i]) << (8 * i);
  return v;
}

bool is_signed(GoKind k) {
  return k == GoKind::int_ || k == GoKind::int8 || k == GoKind::int16 || k == GoKind::int32 || k == GoKind::int64;
}

bool is_unsigned(GoKind k) {
  return k == GoKind::uint || k == GoKind::uint8 || k == GoKind::uint16 || k == GoKind::uint32 ||
         k == GoKind::uint64 || k == GoKind::uintptr;
}

std::string integer(std::span<const uint8_t> bytes, bool sign) {
  uint64_t v = little_endian(bytes);
  size_t bits = 8 * bytes.size();
  if (sign && bits < 64 && (v >> (bits - 1)) & 1) v |= ~uint64_t(0) << bits;
  return sign ? fmt::format("{}", static_cast<int64_t>(v)) : fmt::format("{}", v);
}

std::string quoted(std::span<const uint8_t> bytes, bool cut) {
  std::string out = "\"";
  for (uint8_t c : bytes) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += static_cast<char>(c);
    }
  }
  if (cut) out += "…";
  return out + "\"";
}

}  // namespace

std::string decode_key(const CapturedKey& key, GoKind key_kind, size_t max_chars) {
  size_t have = std::min<size_t>(key.bytes.size(), key.len);
  std::span<const uint8_t> bytes = key.bytes.first(have);
  switch (key.kind) {
    case HA_KEY_STRING: {
      size_t n = std::min(have, max_chars);
      return quoted(bytes.first(n), key.len > n);
    }
    case HA_KEY_PTR:
      return fmt::format("{:#x}", little_endian(bytes));
    case HA_KEY_U32:
    case HA_KEY_U64:
    case HA_KEY_BYTES:
      if ((is_signed(key_kind) || is_unsigned(key_kind)) && have <= 8 && have == key.len)
        return integer(bytes, is_signed(key_kind));
      if (key_kind == GoKind::bool_ && have == 1) return bytes[0] ? "true" : "false";
      if ((key_kind == GoKind::pointer || key_kind == GoKind::unsafe_pointer) && have == 8)
        return fmt::format("{:#x}", little_endian(bytes));
      return hex(bytes) + (key.len > have ? "…" : "");
  }
  return hex(bytes);
}

std::string metric_key_label(const std::string& decoded, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < decoded.size() && out.size() < max_bytes; i++) {
    unsigned char c = static_cast<unsigned char>(decoded[i]);
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
  }
  return out;
}

std::string redacted_key_label(uint64_t key_hash) { return fmt::format("h:{:08x}", key_hash & 0xffffffffu); }

}  // namespace hotalloc::model
