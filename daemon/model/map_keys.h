// How a map key that the insert probes captured is shown: by the kind of
// mapassign variant that saw it and the key type's Go kind. Strings are
// escaped and cut, integers printed with their sign, pointers and any other
// key as hex.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "bpf/hotalloc.h"

namespace hotalloc::model {

// reflect.Kind values (the same numbering in every supported Go version).
enum class GoKind : uint8_t {
  invalid = 0, bool_ = 1, int_ = 2, int8 = 3, int16 = 4, int32 = 5, int64 = 6, uint = 7, uint8 = 8,
  uint16 = 9, uint32 = 10, uint64 = 11, uintptr = 12, float32 = 13, float64 = 14, string = 24, pointer = 22,
  unsafe_pointer = 26,
};

struct CapturedKey {
  ha_key_kind kind = HA_KEY_BYTES;
  uint32_t len = 0;                  // the key's full length
  std::span<const uint8_t> bytes;    // its first bytes (at most HA_HOT_KEY_BYTES)
};

// The key as text: strings as Go would quote them (cut at `max_chars`
// bytes of the key, with "…" when cut), numbers in decimal, the rest hex.
std::string decode_key(const CapturedKey& key, GoKind key_kind, size_t max_chars = HA_HOT_KEY_BYTES);

// A label value for Prometheus: the bytes 0x20-0x7e of `decoded`, at most
// `max_bytes` of them. Every other byte is dropped, so the "…" that
// decode_key puts on a cut key, and any non-ASCII character, do not appear,
// and a label cut at `max_bytes` has no mark.
std::string metric_key_label(const std::string& decoded, size_t max_bytes);

// The redacted label: "h:" and 8 hex digits of the key's hash.
std::string redacted_key_label(uint64_t key_hash);

}  // namespace hotalloc::model
