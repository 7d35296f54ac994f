#include "target/buildinfo.h"

#include <elf.h>

#include <cstring>

#include "target/byte_reader.h"

namespace hotalloc::target {

namespace {

// Layout (cmd/link, Go 1.18+): 14-byte magic, pointer size, flags, padding to
// 32 bytes, then two uvarint-length-prefixed strings: version and modinfo.
constexpr std::string_view kMagic("\xff Go buildinf:", 14);
constexpr size_t kHeaderSize = 32;
constexpr size_t kAlign = 16;
constexpr uint8_t kFlagInlineStrings = 0x2;

// The module info string is framed by 16 bytes of sentinel on each side
// (runtime/debug's modinfo markers); its text ends with a newline.
constexpr size_t kModInfoSentinel = 16;

bool starts_with_magic(std::span<const uint8_t> bytes, size_t off) {
  return in_bounds(off, kMagic.size(), bytes.size()) &&
         std::memcmp(bytes.data() + off, kMagic.data(), kMagic.size()) == 0;
}

std::string strip_sentinels(std::string_view mod) {
  if (mod.size() < 2 * kModInfoSentinel + 1 || mod[mod.size() - kModInfoSentinel - 1] != '\n') return {};
  return std::string(mod.substr(kModInfoSentinel, mod.size() - 2 * kModInfoSentinel));
}

std::string main_path_of(std::string_view mod_info) {
  while (!mod_info.empty()) {
    auto line = mod_info.substr(0, mod_info.find('\n'));
    if (line.starts_with("path\t")) return std::string(line.substr(5));
    mod_info.remove_prefix(std::min(mod_info.size(), line.size() + 1));
  }
  return {};
}

// The build info blob inside a writable segment, found by its aligned magic.
std::span<const uint8_t> scan_segments(const ElfFile& elf) {
  for (const auto& seg : elf.segments()) {
    if (!(seg.flags & PF_W)) continue;
    // Alignment is of the virtual address; the file offset shares it modulo the page size.
    size_t first = (kAlign - seg.vaddr % kAlign) % kAlign;
    for (size_t off = first; off + kHeaderSize <= seg.data.size(); off += kAlign)
      if (starts_with_magic(seg.data, off)) return seg.data.subspan(off);
  }
  return {};
}

}  // namespace

Result<BuildInfo> parse_buildinfo(std::span<const uint8_t> blob) {
  if (!starts_with_magic(blob, 0)) return fail("not a Go binary: no Go build info");
  if (blob.size() < kHeaderSize) return fail("truncated Go build info");
  uint8_t ptr_size = blob[14];
  uint8_t flags = blob[15];
  if (!(flags & kFlagInlineStrings))
    return fail("Go build info in the pre-1.18 format: Go 1.17 and older are not supported (supported: {})",
                supported_go_versions());
  if (ptr_size != 8) return fail("Go build info for {}-bit pointers: only 64-bit targets are supported", ptr_size * 8);

  ByteReader in(blob, kHeaderSize);
  auto read_string = [&in]() -> std::optional<std::string_view> {
    auto len = in.uvarint();
    if (!len) return std::nullopt;
    return in.bytes(*len);
  };
  auto version = read_string();
  if (!version) return fail("corrupt Go build info: version string out of bounds");
  auto mod = read_string();
  if (!mod) return fail("corrupt Go build info: module info out of bounds");

  auto go = GoVersion::parse(*version);
  if (!go) return fail(go.error().context("corrupt Go build info"));
  BuildInfo info{std::move(*go), {}, strip_sentinels(*mod)};
  info.main_path = main_path_of(info.mod_info);
  return info;
}

Result<BuildInfo> read_buildinfo(const ElfFile& elf) {
  if (const Section* s = elf.section(".go.buildinfo")) {
    if (!starts_with_magic(s->data, 0))
      return fail("corrupt Go build info: .go.buildinfo does not start with its magic");
    return parse_buildinfo(s->data);
  }
  auto blob = scan_segments(elf);
  if (blob.empty()) return fail("not a Go binary: no Go build info");
  return parse_buildinfo(blob);
}

}  // namespace hotalloc::target
