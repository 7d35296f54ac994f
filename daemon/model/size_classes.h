// The Go runtime's small-object size classes. The table is identical in
// every supported Go version (1.19-1.27; class_to_size is byte-identical in
// the binaries). A span class is sizeclass<<1 | noscan.
#pragma once

#include <array>
#include <cstdint>

namespace hotalloc::model {

inline constexpr int kNumSizeClasses = 68;  // class 0 means "large"
inline constexpr int kNumSpanClasses = kNumSizeClasses * 2;
inline constexpr uint32_t kMaxSmallSize = 32768;
inline constexpr uint32_t kTinySpanClass = 5;  // class 2 (16 B), noscan

inline constexpr std::array<uint32_t, kNumSizeClasses> kClassToSize = {
    0,     8,     16,    24,    32,    48,    64,    80,    96,    112,   128,   144,
    160,   176,   192,   208,   224,   240,   256,   288,   320,   352,   384,   416,
    448,   480,   512,   576,   640,   704,   768,   896,   1024,  1152,  1280,  1408,
    1536,  1792,  2048,  2304,  2688,  3072,  3200,  3456,  4096,  4864,  5376,  6144,
    6528,  6784,  6912,  8192,  9472,  9728,  10240, 10880, 12288, 13568, 14336, 16384,
    18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768};

constexpr uint32_t span_class_size_class(uint32_t spc) { return spc >> 1; }
constexpr bool span_class_noscan(uint32_t spc) { return (spc & 1) != 0; }
constexpr uint32_t span_class_object_size(uint32_t spc) {
  return spc < kNumSpanClasses ? kClassToSize[spc >> 1] : 0;
}

}  // namespace hotalloc::model
