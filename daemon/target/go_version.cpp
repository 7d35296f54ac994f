#include "target/go_version.h"

#include <cctype>
#include <charconv>

namespace hotalloc::target {

namespace {

constexpr int kOldestMinor = 19;
constexpr int kUnverifiedMinor = 20;
constexpr int kNewestMinor = 27;

// Reads an unsigned decimal number at the front of `s`, consuming it.
bool take_number(std::string_view& s, int& out) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc()) return false;
  s.remove_prefix(static_cast<size_t>(ptr - s.data()));
  return true;
}

}  // namespace

Result<GoVersion> GoVersion::parse(std::string_view text) {
  GoVersion v;
  v.text = std::string(text);
  std::string_view s = text;
  // Development toolchains report "devel go1.27-abc123 Tue Jan 2 ...".
  if (s.starts_with("devel ")) s.remove_prefix(6);
  if (!s.starts_with("go")) return fail("unrecognised Go version \"{}\"", text);
  s.remove_prefix(2);
  if (!take_number(s, v.major)) return fail("unrecognised Go version \"{}\"", text);
  // "go1" was Go 1.0; every later release has a minor number, and a patch
  // number unless it is the first release of its series before Go 1.21.
  for (int* part : {&v.minor, &v.patch}) {
    if (!s.starts_with('.')) break;
    s.remove_prefix(1);
    if (!take_number(s, *part)) return fail("unrecognised Go version \"{}\"", text);
  }
  // What may follow: a pre-release ("rc1", "beta2"), a development suffix
  // ("-abc123"), or build details after a space (" X:nodwarf5").
  if (!s.empty() && !(std::isalpha(static_cast<unsigned char>(s.front())) || s.front() == '-' || s.front() == ' '))
    return fail("unrecognised Go version \"{}\"", text);
  return v;
}

std::string GoVersion::name() const {
  std::string_view t = text;
  if (t.empty()) return fmt::format("{}.{}.{}", major, minor, patch);
  bool devel = t.starts_with("devel ");
  if (devel) t.remove_prefix(6);
  if (t.starts_with("go")) t.remove_prefix(2);
  t = t.substr(0, t.find(' '));
  return devel ? fmt::format("devel {}", t) : std::string(t);
}

GoSupport go_support(const GoVersion& v) {
  if (v.major < 1 || (v.major == 1 && v.minor < kOldestMinor)) return GoSupport::too_old;
  if (v.major > 1 || v.minor > kNewestMinor) return GoSupport::too_new;
  if (v.minor == kUnverifiedMinor) return GoSupport::unverified;
  return GoSupport::supported;
}

std::string_view supported_go_versions() { return "1.19, 1.21–1.27"; }

Status check_go_supported(const GoVersion& v) {
  switch (go_support(v)) {
    case GoSupport::supported:
      return {};
    case GoSupport::too_old:
      return fail("Go {} is not supported (supported: {})", v.name(), supported_go_versions());
    case GoSupport::unverified:
      return fail("Go {} is not supported: its runtime layout has not been verified (supported: {})", v.name(),
                  supported_go_versions());
    case GoSupport::too_new:
      return fail("Go {} is not supported: it is newer than Go 1.{} and its runtime layout is unknown (supported: {})",
                  v.name(), kNewestMinor, supported_go_versions());
  }
  return fail("Go {} is not supported", v.name());
}

}  // namespace hotalloc::target
