#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "target/buildinfo.h"
#include "target_test_support.h"

namespace hotalloc::target {
namespace {

using testing::all_go_versions;
using testing::read_bytes;

// A blob in the Go 1.18+ layout, built from the format description.
std::vector<uint8_t> blob(std::string_view version, std::string_view mod, uint8_t flags = 2, uint8_t ptr_size = 8) {
  std::vector<uint8_t> out = {0xff, ' ', 'G', 'o', ' ', 'b', 'u', 'i', 'l', 'd', 'i', 'n', 'f', ':', ptr_size, flags};
  out.resize(32);
  for (std::string_view s : {version, mod}) {
    for (uint64_t n = s.size();; n >>= 7) {
      out.push_back(static_cast<uint8_t>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
      if (n <= 0x7f) break;
    }
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

// Module info as the linker frames it: 16 sentinel bytes on each side.
std::string framed(std::string_view text) {
  return std::string(16, '\x30') + std::string(text) + std::string(16, '\xf9');
}

TEST(BuildInfo, ParsesTheInlineFormat) {
  std::string mod = "path\texample.com/cmd/server\nmod\texample.com\t(devel)\t\n";
  auto info = parse_buildinfo(blob("go1.22.3", framed(mod)));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->go.text, "go1.22.3");
  EXPECT_EQ(info->go.minor, 22);
  EXPECT_EQ(info->main_path, "example.com/cmd/server");
  EXPECT_EQ(info->mod_info, mod);

  // Long strings use multi-byte lengths.
  std::string long_mod = "path\tx\n" + std::string(300, 'a') + "\n";
  auto big = parse_buildinfo(blob("go1.27.4", framed(long_mod)));
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->mod_info, long_mod);

  // Without module info (GOPATH builds, some test binaries) only the version is known.
  auto bare = parse_buildinfo(blob("go1.19.8", ""));
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->main_path, "");
  EXPECT_EQ(bare->mod_info, "");
}

TEST(BuildInfo, RefusesOldAndCorruptBlobs) {
  auto old = parse_buildinfo(blob("go1.17.13", "", 0));
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("pre-1.18 format"), std::string::npos);

  auto narrow = parse_buildinfo(blob("go1.22.3", "", 2, 4));
  ASSERT_FALSE(narrow);
  EXPECT_NE(narrow.error().message.find("32-bit"), std::string::npos);

  auto b = blob("go1.22.3", framed("path\tx\n"));
  for (size_t n = 33; n < b.size(); n++) {
    auto cut = parse_buildinfo(std::span(b).first(n));
    ASSERT_FALSE(cut) << n;
    EXPECT_NE(cut.error().message.find("corrupt Go build info"), std::string::npos) << cut.error().message;
  }
  auto header_only = parse_buildinfo(std::span(b).first(20));
  ASSERT_FALSE(header_only);
  EXPECT_EQ(header_only.error().message, "truncated Go build info");

  auto nonsense = parse_buildinfo(blob("hello", ""));
  ASSERT_FALSE(nonsense);
  EXPECT_NE(nonsense.error().message.find("unrecognised Go version \"hello\""), std::string::npos);

  std::vector<uint8_t> huge_len = blob("", "");
  huge_len.resize(32);
  for (int i = 0; i < 9; i++) huge_len.push_back(0xff);
  huge_len.push_back(0x01);
  EXPECT_FALSE(parse_buildinfo(huge_len));

  EXPECT_EQ(parse_buildinfo({}).error().message, "not a Go binary: no Go build info");
}

TEST(BuildInfo, ReadsRealBinaries) {
  for (const auto& version : all_go_versions()) {
    std::string toolchain = testing::toolchain_version(version);
    ASSERT_FALSE(toolchain.empty()) << version;
    for (const char* mode : {"default", "stripped", "pie"}) {
      TARGET_BINARY(path, "sizes", version, mode);
      auto elf = ElfFile::open(path);
      ASSERT_TRUE(elf);
      auto info = read_buildinfo(*elf);
      ASSERT_TRUE(info) << path << ": " << info.error().message;
      EXPECT_EQ(info->go.text, toolchain) << path;
      EXPECT_EQ(info->main_path, "hotalloc.test/sizes") << path;
      EXPECT_NE(info->mod_info.find("mod\thotalloc.test/sizes"), std::string::npos) << info->mod_info;
    }
  }
}

TEST(BuildInfo, FindsTheMagicWithoutSectionHeaders) {
  TARGET_BINARY(path, "sizes", "1.23", "stripped");
  auto bytes = read_bytes(path);
  // Drop the section header table, as sstrip-like tools do.
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  std::memcpy(bytes.data(), &eh, sizeof eh);
  auto elf = ElfFile::from_memory(std::move(bytes), "no-sections");
  ASSERT_TRUE(elf) << elf.error().message;
  EXPECT_TRUE(elf->sections().empty());
  auto info = read_buildinfo(*elf);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->go.text, testing::toolchain_version("1.23"));
}

TEST(BuildInfo, CBinariesHaveNone) {
  auto elf = ElfFile::open("/bin/true");
  ASSERT_TRUE(elf);
  auto info = read_buildinfo(*elf);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().message, "not a Go binary: no Go build info");
}

}  // namespace
}  // namespace hotalloc::target
