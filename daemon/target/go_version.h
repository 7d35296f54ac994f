// Go toolchain versions as a binary records them ("go1.26.11", "go1.22rc1",
// "devel go1.27-abc123 ...", possibly followed by " X:experiment"), and
// which of them hotalloc supports.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "util/result.h"

namespace hotalloc::target {

struct GoVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;     // 0 for pre-releases and development builds
  std::string text;  // as recorded in the binary

  static Result<GoVersion> parse(std::string_view text);

  // "1.26.11"; pre-releases and development builds show their own text.
  std::string name() const;

  // Versions compare by number only: "go1.22rc1" orders with "go1.22.0".
  friend bool operator==(const GoVersion& a, const GoVersion& b) {
    return a.major == b.major && a.minor == b.minor && a.patch == b.patch;
  }
  friend std::strong_ordering operator<=>(const GoVersion& a, const GoVersion& b) {
    if (auto c = a.major <=> b.major; c != 0) return c;
    if (auto c = a.minor <=> b.minor; c != 0) return c;
    return a.patch <=> b.patch;
  }

  // The release series, e.g. 1.26 for 1.26.11.
  bool series(int maj, int min) const { return major == maj && minor == min; }
  bool at_least(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
};

enum class GoSupport {
  supported,   // a verified release series: 1.19, 1.21 to 1.27
  unverified,  // 1.20: between verified series, but no toolchain was available to check it
  too_old,     // before 1.19
  too_new,     // after 1.27: the runtime layout is unknown until something (DWARF) confirms it
};

GoSupport go_support(const GoVersion& v);

// "1.19, 1.21–1.27", for messages.
std::string_view supported_go_versions();

// Ok for a supported version, else an error naming the version and why it is refused.
Status check_go_supported(const GoVersion& v);

}  // namespace hotalloc::target
