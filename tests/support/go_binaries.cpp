#include "support/go_binaries.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <vector>

namespace hotalloc::testing {

Status copy_claiming_go_version(const std::string& from, const std::string& to, std::string_view version) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return fail("cannot read {}", from);
  std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};

  // .go.buildinfo: 14-byte magic, pointer size, flags, padding to 32, then
  // the version as a uvarint length (one byte: versions are short) and text.
  constexpr std::string_view magic("\xff Go buildinf:", 14);
  auto at = std::search(bytes.begin(), bytes.end(), magic.begin(), magic.end());
  if (at == bytes.end() || bytes.end() - at < 33) return fail("{} has no Go build info", from);
  size_t off = static_cast<size_t>(at - bytes.begin()) + 32;
  size_t len = static_cast<unsigned char>(bytes[off]);
  if (len != version.size() || off + 1 + len > bytes.size())
    return fail("{} records a {}-byte Go version; \"{}\" has {}", from, len, version, version.size());
  std::copy(version.begin(), version.end(), bytes.begin() + static_cast<std::ptrdiff_t>(off + 1));

  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return fail("cannot write {}", to);
  if (chmod(to.c_str(), 0755) != 0) return fail_errno(errno, "chmod " + to);
  return {};
}

}  // namespace hotalloc::testing
