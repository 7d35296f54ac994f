// Bounds-checked little-endian reads over untrusted bytes (Go binaries may be
// truncated, corrupt or hostile). Every read either succeeds within the span
// or reports failure; nothing reads past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace hotalloc::target {

// True when [off, off+len) lies within a buffer of `size` bytes, without overflow.
constexpr bool in_bounds(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

template <typename T>
std::optional<T> read_le(std::span<const uint8_t> bytes, uint64_t off) {
  if (!in_bounds(off, sizeof(T), bytes.size())) return std::nullopt;
  T v;
  std::memcpy(&v, bytes.data() + off, sizeof(T));  // hosts are little-endian (x86-64, arm64)
  return v;
}

// A NUL-terminated string starting at `off`; nullopt when no NUL follows.
std::optional<std::string_view> read_cstring(std::span<const uint8_t> bytes, uint64_t off);

// A cursor for sequential reads (varint-encoded tables).
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes, uint64_t pos = 0) : bytes_(bytes), pos_(pos) {}

  uint64_t pos() const { return pos_; }

  // Go's unsigned LEB128 (encoding/binary.Uvarint): at most 10 bytes.
  std::optional<uint64_t> uvarint();

  // `len` bytes as a string_view into the underlying buffer.
  std::optional<std::string_view> bytes(uint64_t len);

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_;
};

}  // namespace hotalloc::target
