// Feeds arbitrary bytes to the config file reader: TOML parsing, the walk
// over tables, every setting's conversion and checks. Besides not crashing,
// reading an accepted file again over its own result changes nothing: a key
// replaces a setting's value, it never appends to it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/options.h"

using namespace hotalloc::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Options once;
  if (!apply_text(text, "fuzz.toml", once)) return 0;
  Options twice = once;
  if (!apply_text(text, "fuzz.toml", twice) || !changed_settings(once, twice).empty()) __builtin_trap();
  return 0;
}
