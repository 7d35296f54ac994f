#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "heapprof/symbolizer.h"
#include "target/binary_cache.h"
#include "target/dwarf_layout.h"
#include "target/go_binary.h"
#include "target_test_support.h"

namespace hotalloc::target {
namespace {

using testing::all_go_versions;
using testing::hook_functions;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

std::vector<uint8_t> file_bytes(const std::string& path, uint64_t offset, size_t len) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<uint8_t> out(len);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(len));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

// Every Go function on amd64 starts with a stack-bound check against
// g.stackguard0 (R14+0x10): CMP RSP,[R14+0x10], or LEA R12,[RSP-n] then CMP.
bool starts_with_stack_check(std::span<const uint8_t> code) {
  static const uint8_t cmp[] = {0x49, 0x3b, 0x66, 0x10};
  static const uint8_t lea8[] = {0x4c, 0x8d, 0x64, 0x24};
  static const uint8_t lea32[] = {0x4c, 0x8d, 0xa4, 0x24};
  auto is = [&](std::span<const uint8_t> p) {
    return code.size() >= p.size() && std::equal(p.begin(), p.end(), code.begin());
  };
  return is(cmp) || is(lea8) || is(lea32);
}

std::string error_of(const Result<std::shared_ptr<const GoBinary>>& r) {
  return r ? std::string("(opened)") : r.error().message;
}

// Every version in every mode: the version the program reports, hook
// addresses equal to the unstripped build's symbols, and file offsets that
// point at the function's bytes in the file.
TEST(Target, OpensEveryVersionAndMode) {
  for (const auto& version : all_go_versions()) {
    TARGET_BINARY(reference_path, "maps_basic", version, "default");
    auto reference = GoBinary::open(reference_path);
    ASSERT_TRUE(reference) << error_of(reference);
    std::string reported = testing::reported_version(reference_path);
    ASSERT_FALSE(reported.empty()) << reference_path;

    for (const char* mode : {"default", "stripped", "pie"}) {
      TARGET_BINARY(path, "maps_basic", version, mode);
      auto bin = GoBinary::open(path);
      ASSERT_TRUE(bin) << error_of(bin);
      const GoBinary& b = **bin;
      EXPECT_EQ(b.go_version().text, reported) << path;
      EXPECT_EQ(b.go_version().text, testing::toolchain_version(version)) << path;
      EXPECT_EQ(b.build_info().main_path, "hotalloc.test/maps_basic");
      EXPECT_EQ(b.stripped(), std::string_view(mode) == "stripped") << path;
      EXPECT_EQ(b.elf().pie(), std::string_view(mode) == "pie") << path;
      EXPECT_EQ(b.elf().arch(), Arch::x86_64);

      size_t found = 0;
      for (const auto& hook : hook_functions()) {
        auto f = b.function(hook);
        auto expected = reference->get()->elf().symbol(hook);
        ASSERT_EQ(f.has_value(), expected.has_value()) << path << " " << hook;
        if (!f) continue;
        found++;
        EXPECT_EQ(f->name, hook);
        EXPECT_EQ(f->from_symtab, !b.stripped());
        EXPECT_GT(f->size, 0u) << hook;
        EXPECT_EQ(f->code.size(), f->size);
        // A stripped size (up to the next function) includes alignment padding.
        if (std::string_view(mode) != "pie") {
          EXPECT_EQ(f->address, expected->address) << path << " " << hook;
          if (f->from_symtab) {
            EXPECT_EQ(f->size, expected->size) << hook;
          } else {
            EXPECT_GE(f->size, expected->size) << hook;
            EXPECT_LT(f->size, expected->size + 64) << hook;
          }
        }
        auto on_disk = file_bytes(path, f->file_offset, f->code.size());
        EXPECT_TRUE(std::equal(on_disk.begin(), on_disk.end(), f->code.begin(), f->code.end())) << path << " " << hook;
        EXPECT_TRUE(starts_with_stack_check(f->code)) << path << " " << hook;
      }
      EXPECT_GE(found, 20u) << path;
      EXPECT_FALSE(b.function("main.noSuchFunction"));
      auto fill = b.function("main.fill");
      ASSERT_TRUE(fill);
      EXPECT_TRUE(starts_with_stack_check(fill->code));
    }
  }
}

// cgo binaries: external linking, C code before Go code in .text.
TEST(Target, OpensExternallyLinkedBinaries) {
  TempDir tmp;
  for (const char* version : {"1.21", "1.26"}) {
    TARGET_BINARY(path, "maps_basic", version, "cgo");
    auto bin = GoBinary::open(path);
    ASSERT_TRUE(bin) << error_of(bin);
    std::string stripped = tmp.path() + "/stripped-" + version;
    ASSERT_TRUE(hotalloc::testing::run_capture("objcopy --strip-all '" + path + "' '" + stripped + "'"));
    auto sbin = GoBinary::open(stripped);
    ASSERT_TRUE(sbin) << error_of(sbin);
    EXPECT_TRUE(sbin->get()->stripped());
    for (const char* hook : {"runtime.mallocgc", "runtime.(*mcache).refill", "runtime.mapassign_faststr"}) {
      auto f = bin->get()->function(hook);
      auto s = sbin->get()->function(hook);
      ASSERT_TRUE(f && s) << version << " " << hook;
      EXPECT_EQ(f->address, s->address) << version << " " << hook;
      EXPECT_EQ(f->file_offset, s->file_offset) << version << " " << hook;
      EXPECT_TRUE(starts_with_stack_check(s->code)) << version << " " << hook;
    }
  }
}

TEST(Target, RefusesNonGoFiles) {
  auto c = GoBinary::open("/bin/true");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "/bin/true: not a Go binary: no Go build info");

  auto missing = GoBinary::open("/nonexistent/app");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/nonexistent/app: No such file or directory");

  TempDir tmp;
  std::string noise = tmp.path() + "/noise";
  std::vector<uint8_t> bytes(8192);
  for (size_t i = 0; i < bytes.size(); i++) bytes[i] = static_cast<uint8_t>(i * 131 + 7);
  write_bytes(noise, bytes);
  auto r = GoBinary::open(noise);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, noise + ": not an ELF file");
}

TEST(Target, RefusesTruncatedBinaries) {
  TARGET_BINARY(path, "maps_basic", "1.25", "stripped");
  auto bytes = read_bytes(path);
  TempDir tmp;
  std::string cut = tmp.path() + "/cut";
  for (size_t n : {size_t(0), size_t(100), size_t(5000), bytes.size() / 4, bytes.size() / 2, bytes.size() - 100}) {
    write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
    auto r = GoBinary::open(cut);
    ASSERT_FALSE(r) << n;
    EXPECT_TRUE(r.error().message.starts_with(cut + ": ")) << r.error().message;
    EXPECT_TRUE(r.error().message.find("truncated") != std::string::npos ||
                r.error().message.find("not an ELF file") != std::string::npos)
        << n << ": " << r.error().message;
  }
}

// Rewrites the version string in .go.buildinfo (same length) of a copy.
Result<std::shared_ptr<const GoBinary>> with_version(const std::string& path, std::string_view from,
                                                     std::string_view to) {
  auto bytes = read_bytes(path);
  auto elf_copy = ElfFile::from_memory(bytes, "original");
  if (!elf_copy || !elf_copy->section(".go.buildinfo")) return fail("no .go.buildinfo in {}", path);
  const Section* s = elf_copy->section(".go.buildinfo");
  auto begin = bytes.begin() + static_cast<long>(s->offset);
  auto end = begin + static_cast<long>(s->size);
  auto at = std::search(begin, end, from.begin(), from.end());
  if (at == end) return fail("version {} not found", from);
  std::copy(to.begin(), to.end(), at);
  auto elf = ElfFile::from_memory(std::move(bytes), "patched");
  if (!elf) return fail(elf.error());
  return GoBinary::from_elf(std::move(*elf));
}

TEST(Target, RefusesUnsupportedGoVersions) {
  TARGET_BINARY(path, "maps_basic", "1.19", "stripped");
  std::string actual = testing::toolchain_version("1.19");  // go1.19.N
  ASSERT_TRUE(actual.starts_with("go1.19."));
  std::string patch = actual.substr(7);

  auto old = with_version(path, actual, "go1.18." + patch);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().message, "patched: Go 1.18." + patch + " is not supported (supported: 1.19, 1.21–1.27)");

  // Without DWARF nothing can stand in for a missing layout table.
  auto unverified = with_version(path, actual, "go1.20." + patch);
  ASSERT_FALSE(unverified);
  EXPECT_EQ(unverified.error().message, "patched: Go 1.20." + patch +
                                            " has no verified runtime layout in hotalloc (known: 1.19, 1.21–1.27), "
                                            "and the binary has no DWARF (built with -ldflags=-w, or stripped) to "
                                            "read it from");

  auto newer = with_version(path, actual, "go1.29." + patch);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().message, "patched: Go 1.29." + patch +
                                       " is newer than every Go version hotalloc knows (1.19, 1.21–1.27), so it has "
                                       "no runtime layout table, and the binary has no DWARF (built with "
                                       "-ldflags=-w, or stripped) to read it from");
}

// A version without a table is traced where its DWARF describes every field
// BPF reads: the offsets are DWARF's, here those of the real toolchain.
TEST(Target, TakesTheLayoutOfNewerVersionsFromDwarf) {
  for (const char* version : {"1.19", "1.27"}) {
    TARGET_BINARY(path, "maps_basic", version, "default");
    std::string actual = testing::toolchain_version(version);
    std::string claimed = actual;
    claimed.replace(0, 6, std::string_view(version) == "1.19" ? "go1.20" : "go1.28");

    auto bin = with_version(path, actual, claimed);
    ASSERT_TRUE(bin) << error_of(bin);
    const LayoutChoice& choice = bin->get()->layout();
    EXPECT_EQ(choice.source, LayoutSource::dwarf);
    EXPECT_TRUE(choice.dwarf_checked);
    EXPECT_EQ(choice.disagreement, "");
    EXPECT_EQ(choice.layout, *runtime_layout(*GoVersion::parse(actual))) << claimed;
    EXPECT_TRUE(bin->get()->function("runtime.(*mcache).refill"));
  }
}

// A known version whose table does not fit the binary (here: a Go 1.26
// binary claiming to be 1.23, whose mcache and maps differ) is traced with
// DWARF's offsets, and says what DWARF corrected.
TEST(Target, PrefersDwarfWhereTheTableDisagrees) {
  TARGET_BINARY(path, "maps_basic", "1.26", "default");
  std::string actual = testing::toolchain_version("1.26");
  std::string claimed = "go1.23" + actual.substr(6);
  auto bin = with_version(path, actual, claimed);
  ASSERT_TRUE(bin) << error_of(bin);
  const LayoutChoice& choice = bin->get()->layout();
  EXPECT_EQ(choice.source, LayoutSource::dwarf);
  EXPECT_EQ(choice.layout, *runtime_layout(*GoVersion::parse(actual)));
  for (const char* said : {"maps are swiss tables in DWARF, not classic buckets",
                           "runtime.mcache.alloc is at 48 in DWARF, not 40",
                           "runtime.mcache.tinyAllocs is at 40 in DWARF, not 32"})
    EXPECT_NE(choice.disagreement.find(said), std::string::npos) << choice.disagreement;

  // The same binary, stripped of DWARF, has only the (wrong) table to go by.
  TARGET_BINARY(stripped_path, "maps_basic", "1.26", "stripped");
  auto stripped = with_version(stripped_path, actual, claimed);
  ASSERT_TRUE(stripped) << error_of(stripped);
  EXPECT_EQ(stripped->get()->layout().source, LayoutSource::table);
  EXPECT_FALSE(stripped->get()->layout().dwarf_checked);
}

TEST(Target, RefusesCorruptFunctionTables) {
  TARGET_BINARY(path, "maps_basic", "1.27", "stripped");
  auto bytes = read_bytes(path);
  auto elf = ElfFile::from_memory(bytes, "x");
  ASSERT_TRUE(elf);
  uint64_t header = elf->section(".gopclntab")->offset;
  uint32_t bad = 0xdeadbeef;
  std::memcpy(&bytes[header], &bad, sizeof bad);
  auto patched = ElfFile::from_memory(std::move(bytes), "bad-magic");
  ASSERT_TRUE(patched);
  auto r = GoBinary::from_elf(std::move(*patched));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "bad-magic: .gopclntab: corrupt header: unknown magic 0xdeadbeef");
}

// One load per file, however it is reached, for as long as anyone holds it.
TEST(Target, BinaryCacheLoadsEachFileOnce) {
  TARGET_BINARY(built, "maps_basic", all_go_versions().front(), "default");
  // Copies in one directory: a hard link cannot cross into the binary
  // cache's file system, which may be a mount of its own.
  TempDir dir;
  const std::string path = dir.path() + "/maps_basic", link = dir.path() + "/hardlink", copy = dir.path() + "/copy";
  write_bytes(path, read_bytes(built));
  write_bytes(copy, read_bytes(built));
  ASSERT_EQ(::link(path.c_str(), link.c_str()), 0) << strerror(errno);

  BinaryCache cache;
  auto a = cache.open(path);
  ASSERT_TRUE(a) << a.error().message;
  auto b = cache.open(link);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->binary.get(), b->binary.get());
  EXPECT_EQ(a->id, b->id);
  auto c = cache.open(copy);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_NE(a->id, c->id);
  EXPECT_NE(a->binary.get(), c->binary.get());

  // Held weakly, also by the symbolizers: once its last holder lets go,
  // the binary is freed.
  heapprof::SymbolizerCache symbolizers;
  auto sym = symbolizers.get(c->binary);
  EXPECT_EQ(symbolizers.get(c->binary).get(), sym.get());
  std::weak_ptr<const GoBinary> gone = c->binary;
  c->binary.reset();
  EXPECT_FALSE(gone.expired()) << "its symbolizer holds it";
  sym.reset();
  EXPECT_TRUE(gone.expired());
  // The DWARF read for the layout went with its own descriptor, and the
  // file is closed (a loaded binary holds no fd): the binary keeps working
  // on its read-only mapping, and its DWARF is no longer read.
  EXPECT_TRUE(a->binary->function("runtime.mallocgc"));
  EXPECT_EQ(a->binary->elf().fd(), -1);
  EXPECT_EQ(begin_dwarf(a->binary->elf()), nullptr);
  auto dwarf = DwarfTypes::load(a->binary->elf());
  ASSERT_FALSE(dwarf);
  EXPECT_NE(dwarf.error().message.find("released"), std::string::npos) << dwarf.error().message;

  auto missing = cache.open(dir.path() + "/none");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("none"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace hotalloc::target
