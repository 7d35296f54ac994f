#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "target/elf_file.h"
#include "target_test_support.h"

namespace hotalloc::target {
namespace {

using testing::read_bytes;

std::string error_of(const Result<ElfFile>& r) { return r ? std::string("(no error)") : r.error().message; }

TEST(ElfFile, OpensAGoBinary) {
  TARGET_BINARY(path, "sizes", "1.26", "default");
  auto elf = ElfFile::open(path);
  ASSERT_TRUE(elf) << error_of(elf);
  EXPECT_EQ(elf->path(), path);
  EXPECT_EQ(elf->arch(), Arch::x86_64);
  EXPECT_FALSE(elf->pie());
  EXPECT_TRUE(elf->has_symtab());
  EXPECT_TRUE(elf->has_dwarf());
  ASSERT_NE(elf->section(".gopclntab"), nullptr);
  EXPECT_EQ(elf->section(".gopclntab")->data.size(), elf->section(".gopclntab")->size);
  EXPECT_EQ(elf->section(".no-such-section"), nullptr);
  EXPECT_FALSE(elf->segments().empty());

  auto mallocgc = elf->symbol("runtime.mallocgc");
  ASSERT_TRUE(mallocgc);
  EXPECT_GT(mallocgc->size, 0u);
  EXPECT_EQ(elf->symbol_address("runtime.mallocgc"), mallocgc->address);
  EXPECT_FALSE(elf->symbol_address("runtime.mallocgc.abi0"));
  EXPECT_FALSE(elf->symbol_address("no.such.symbol"));
}

TEST(ElfFile, FileOffsetsFollowTheLoadSegments) {
  for (const char* mode : {"default", "pie"}) {
    TARGET_BINARY(path, "sizes", "1.19", mode);
    auto elf = ElfFile::open(path);
    ASSERT_TRUE(elf) << error_of(elf);
    EXPECT_EQ(elf->pie(), std::string_view(mode) == "pie");
    auto addr = elf->symbol_address("runtime.mallocgc");
    ASSERT_TRUE(addr);
    auto off = elf->file_offset(*addr);
    ASSERT_TRUE(off) << off.error().message;
    // The Go linker places text at 0x400000 + file offset, PIE or not.
    EXPECT_EQ(*off, *addr - 0x400000) << mode;

    auto bytes = elf->bytes_at(*addr, 16);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->data(), elf->image().data() + *off);

    EXPECT_FALSE(elf->file_offset(0x10));
    // .bss has memory but no file bytes.
    const Section* bss = elf->section(".bss");
    ASSERT_NE(bss, nullptr);
    EXPECT_FALSE(elf->file_offset(bss->addr + 8));
    auto past = elf->bytes_at(*addr, size_t(1) << 40);
    ASSERT_FALSE(past);
    EXPECT_NE(past.error().message.find("past the end"), std::string::npos);
  }
}

TEST(ElfFile, BuildIdPrefersGnuNoteThenGoNote) {
  // 1.19's internal linker writes only a Go build id note; external linking adds a GNU one.
  TARGET_BINARY(internal, "sizes", "1.19", "default");
  auto elf = ElfFile::open(internal);
  ASSERT_TRUE(elf);
  std::string id = elf->build_id();
  EXPECT_EQ(std::count(id.begin(), id.end(), '/'), 3) << id;  // actionID/contentID pairs

  TARGET_BINARY(external, "sizes", "1.27", "cgo");
  auto ext = ElfFile::open(external);
  ASSERT_TRUE(ext);
  std::string gnu = ext->build_id();
  EXPECT_FALSE(gnu.empty());
  EXPECT_EQ(gnu.find_first_not_of("0123456789abcdef"), std::string::npos) << gnu;
}

TEST(ElfFile, OpensCBinariesAndSharedLibraries) {
  auto elf = ElfFile::open("/bin/true");
  ASSERT_TRUE(elf) << error_of(elf);
  EXPECT_EQ(elf->section(".gopclntab"), nullptr);
  EXPECT_EQ(elf->section(".go.buildinfo"), nullptr);
}

TEST(ElfFile, RefusesWhatIsNotAnElfExecutable) {
  auto missing = ElfFile::open("/nonexistent/hotalloc-test");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/hotalloc-test"), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);

  auto dir = ElfFile::open("/tmp");
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find("not a regular file"), std::string::npos);

  auto empty = ElfFile::from_memory({}, "empty");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "empty: not an ELF file");

  auto text = ElfFile::from_memory({'#', '!', '/', 'b', 'i', 'n', '/', 's', 'h'}, "script");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, "script: not an ELF file");

  std::mt19937 rng(42);
  for (size_t size : {1u, 16u, 64u, 4096u, 100000u}) {
    std::vector<uint8_t> noise(size);
    for (auto& b : noise) b = static_cast<uint8_t>(rng());
    auto r = ElfFile::from_memory(noise, "noise");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "noise: not an ELF file");
  }
}

TEST(ElfFile, RefusesOtherClassesAndMachines) {
  TARGET_BINARY(path, "sizes", "1.22", "default");
  auto bytes = read_bytes(path);
  ASSERT_GT(bytes.size(), sizeof(Elf64_Ehdr));

  auto with = [&](auto patch) {
    auto copy = bytes;
    patch(copy);
    return ElfFile::from_memory(std::move(copy), "patched");
  };
  auto elf32 = with([](auto& b) { b[EI_CLASS] = ELFCLASS32; });
  ASSERT_FALSE(elf32);
  EXPECT_NE(elf32.error().message.find("not a 64-bit ELF file"), std::string::npos);

  auto big = with([](auto& b) { b[EI_DATA] = ELFDATA2MSB; });
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("little-endian"), std::string::npos);

  auto i386 = with([](auto& b) { b[offsetof(Elf64_Ehdr, e_machine)] = EM_386; });
  ASSERT_FALSE(i386);
  EXPECT_NE(i386.error().message.find("unsupported architecture"), std::string::npos);

  auto arm = with([](auto& b) { b[offsetof(Elf64_Ehdr, e_machine)] = EM_AARCH64; });
  ASSERT_TRUE(arm) << error_of(arm);
  EXPECT_EQ(arm->arch(), Arch::arm64);

  auto object = with([](auto& b) { b[offsetof(Elf64_Ehdr, e_type)] = ET_REL; });
  ASSERT_FALSE(object);
  EXPECT_NE(object.error().message.find("not an executable"), std::string::npos);
}

TEST(ElfFile, TruncatedFilesFailClearly) {
  TARGET_BINARY(path, "sizes", "1.26", "default");
  auto bytes = read_bytes(path);
  for (size_t n : {size_t(4), size_t(40), size_t(64), size_t(200), size_t(4096), bytes.size() / 3, bytes.size() / 2,
                   bytes.size() - 1}) {
    std::vector<uint8_t> head(bytes.begin(), bytes.begin() + static_cast<long>(n));
    auto r = ElfFile::from_memory(std::move(head), "cut");
    ASSERT_FALSE(r) << n;
    const std::string& msg = r.error().message;
    EXPECT_TRUE(msg.find("truncated ELF") != std::string::npos || msg.find("not an ELF file") != std::string::npos)
        << n << ": " << msg;
  }
}

TEST(ElfFile, SectionsPastTheEndAreNamed) {
  TARGET_BINARY(path, "sizes", "1.26", "default");
  auto bytes = read_bytes(path);
  auto full = ElfFile::from_memory(bytes, "full");
  ASSERT_TRUE(full);
  auto sections = full->sections();
  auto it = std::find_if(sections.begin(), sections.end(), [](const Section& s) { return s.name == ".gopclntab"; });
  ASSERT_NE(it, sections.end());
  // sections() starts at section 1; the null section 0 is left out.
  size_t index = static_cast<size_t>(it - sections.begin()) + 1;
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  uint64_t huge = bytes.size();
  std::memcpy(&bytes[eh.e_shoff + index * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_size)], &huge, sizeof huge);
  auto r = ElfFile::from_memory(std::move(bytes), "grown");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "grown: truncated ELF: section .gopclntab extends past end of file");
}

TEST(ElfFile, MovesKeepViewsValid) {
  TARGET_BINARY(path, "sizes", "1.24", "default");
  auto elf = ElfFile::open(path);
  ASSERT_TRUE(elf);
  auto before = elf->section(".gopclntab")->data;
  ElfFile moved = std::move(*elf);
  EXPECT_EQ(moved.section(".gopclntab")->data.data(), before.data());
  EXPECT_TRUE(moved.symbol("runtime.mallocgc"));

  auto mem = ElfFile::from_memory(read_bytes(path), "mem");
  ASSERT_TRUE(mem);
  auto data = mem->section(".gopclntab")->data.data();
  ElfFile other = std::move(*mem);
  EXPECT_EQ(other.section(".gopclntab")->data.data(), data);
  EXPECT_EQ(other.path(), "mem");
}

}  // namespace
}  // namespace hotalloc::target
