#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>

#include "target/buildinfo.h"
#include "target/byte_reader.h"
#include "target/dwarf_layout.h"
#include "target/elf_file.h"
#include "target/pclntab.h"
#include "target_test_support.h"

namespace hotalloc::target {
namespace {

using testing::all_go_versions;
using testing::hook_functions;
using testing::read_bytes;

struct Parsed {
  ElfFile elf;
  PcLnTab tab;
};

std::optional<Parsed> parse_file(const std::string& path) {
  auto elf = ElfFile::open(path);
  EXPECT_TRUE(elf) << path << ": " << (elf ? "" : elf.error().message);
  if (!elf) return std::nullopt;
  auto tab = PcLnTab::parse(*elf);
  EXPECT_TRUE(tab) << path << ": " << (tab ? "" : tab.error().message);
  if (!tab) return std::nullopt;
  return Parsed{std::move(*elf), std::move(*tab)};
}

// A default build's ELF file (symbols, DWARF) and the stripped build's table.
struct FullAndStripped {
  ElfFile full;
  Parsed stripped;
};

std::optional<FullAndStripped> open_pair(const std::string& full_path, const std::string& stripped_path) {
  auto full = ElfFile::open(full_path);
  auto stripped = parse_file(stripped_path);
  EXPECT_TRUE(full) << full_path;
  if (!full || !stripped) return std::nullopt;
  EXPECT_FALSE(stripped->elf.has_symtab());
  return FullAndStripped{std::move(*full), std::move(*stripped)};
}

// The .symtab spelling of a pclntab name: the linker writes "·" as "." in
// ELF symbols. Compiler-generated equality functions of arrays are
// "type..eq.[...]T" in 1.19's pclntab but "type..eq.[N]T" in .symtab; they
// have no ELF name to compare with.
std::optional<std::string> elf_name(std::string name) {
  if (name.find("[...]") != std::string::npos) return std::nullopt;
  for (size_t at; (at = name.find("\u00b7")) != std::string::npos;) name.replace(at, 2, ".");
  return name;
}

// Every function of the table is the .symtab symbol of the same name (ABI0
// code carries ".abi0" there) at the same address.
TEST(Pclntab, EveryFunctionMatchesTheSymbolTable) {
  for (const auto& version : all_go_versions()) {
    for (const char* mode : {"default", "pie"}) {
      TARGET_BINARY(path, "maps_basic", version, mode);
      auto p = parse_file(path);
      ASSERT_TRUE(p);
      EXPECT_EQ(p->tab.text_start(), p->elf.symbol_address("runtime.text")) << path;
      size_t checked = 0, mismatched = 0;
      for (const Function& f : p->tab.functions()) {
        auto name = elf_name(f.name);
        if (!name) continue;
        auto sym = p->elf.symbol_address(*name);
        auto abi0 = p->elf.symbol_address(*name + ".abi0");
        if (sym != f.entry && abi0 != f.entry) {
          if (++mismatched <= 5) ADD_FAILURE() << path << ": " << f.name << " at " << std::hex << f.entry;
        }
        EXPECT_LE(f.entry, f.end) << f.name;
        checked++;
      }
      EXPECT_GT(checked, 1000u) << path;
      EXPECT_EQ(mismatched, 0u) << path;
    }
  }
}

// Stripped binaries recover every hook's address from the table alone.
TEST(Pclntab, StrippedAddressesEqualSymbols) {
  for (const auto& version : all_go_versions()) {
    TARGET_BINARY(full_path, "maps_basic", version, "default");
    TARGET_BINARY(stripped_path, "maps_basic", version, "stripped");
    auto pair = open_pair(full_path, stripped_path);
    ASSERT_TRUE(pair);
    auto& full = pair->full;
    auto& stripped = pair->stripped;
    size_t found = 0;
    for (const auto& hook : hook_functions()) {
      auto sym = full.symbol_address(hook);
      const Function* f = stripped.tab.find(hook);
      EXPECT_EQ(sym.has_value(), f != nullptr) << version << " " << hook;
      if (!sym || !f) continue;
      EXPECT_EQ(f->entry, *sym) << version << " " << hook;
      found++;
    }
    // mallocgc, refill, releaseAll, allocLarge, gcStart, makemap, mapassign_* ... are in every version.
    EXPECT_GE(found, 20u) << version;
  }
}

// abi.FuncIDWrapper per version, from the Go sources (internal/abi/symtab.go).
uint8_t wrapper_id(const std::string& version) {
  if (version == "1.19" || version == "1.21") return 21;
  if (version == "1.22" || version == "1.23" || version == "1.24") return 22;
  return 23;
}

// Where a name appears twice (an ABI wrapper and its body), find() returns
// the body: for Go functions, the plain .symtab symbol.
TEST(Pclntab, DuplicateNamesResolveToTheBody) {
  for (const auto& version : all_go_versions()) {
    TARGET_BINARY(path, "maps_basic", version, "default");
    auto p = parse_file(path);
    ASSERT_TRUE(p);
    std::map<std::string, std::vector<const Function*>> by_name;
    for (const Function& f : p->tab.functions()) by_name[f.name].push_back(&f);
    size_t duplicates = 0;
    for (const auto& [name, entries] : by_name) {
      if (entries.size() < 2) continue;
      duplicates++;
      const Function* f = p->tab.find(name);
      ASSERT_NE(f, nullptr);
      EXPECT_TRUE(p->elf.symbol_address(name) == f->entry || p->elf.symbol_address(name + ".abi0") == f->entry)
          << version << " " << name;
      bool has_body = std::any_of(entries.begin(), entries.end(),
                                  [&](const Function* e) { return e->func_id != wrapper_id(version); });
      if (has_body) {
        EXPECT_NE(f->func_id, wrapper_id(version)) << version << " " << name;
      }
    }
    EXPECT_GT(duplicates, 10u) << version;
    // A Go function that assembly calls through an ABI0 wrapper.
    ASSERT_NE(p->tab.find("runtime.newproc"), nullptr);
    EXPECT_EQ(p->elf.symbol_address("runtime.newproc"), p->tab.find("runtime.newproc")->entry) << version;
    // An assembly function that Go calls through an ABIInternal wrapper.
    ASSERT_NE(p->tab.find("runtime.reflectcall"), nullptr);
    EXPECT_EQ(p->elf.symbol_address("runtime.reflectcall.abi0"), p->tab.find("runtime.reflectcall")->entry) << version;
  }
}

// External linking puts C code first in .text: the text base must come from
// the Go runtime (header or module data), never from .text.
TEST(Pclntab, ExternallyLinkedBinariesUseTheGoTextBase) {
  testing::TempDir tmp;
  for (const char* version : {"1.19", "1.27"}) {
    TARGET_BINARY(path, "sizes", version, "cgo");
    auto p = parse_file(path);
    ASSERT_TRUE(p);
    ASSERT_NE(p->elf.section(".text"), nullptr);
    EXPECT_NE(p->tab.text_start(), p->elf.section(".text")->addr) << version;
    EXPECT_EQ(p->tab.text_start(), p->elf.symbol_address("runtime.text")) << version;

    // The same binary without .symtab: the table alone must agree.
    std::string stripped = tmp.path() + "/stripped-" + version;
    ASSERT_TRUE(hotalloc::testing::run_capture("objcopy --strip-all '" + path + "' '" + stripped + "'"));
    auto s = parse_file(stripped);
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->elf.has_symtab());
    EXPECT_EQ(s->tab.text_start(), p->tab.text_start()) << version;
    for (const auto& hook : hook_functions()) {
      const Function* f = s->tab.find(hook);
      if (f) {
        EXPECT_EQ(p->elf.symbol_address(hook), f->entry) << version << " " << hook;
      }
    }
  }
}

// Line numbers agree with the DWARF line table the linker wrote from the
// same data, for every row inside the program's own functions.
TEST(Pclntab, LinesMatchDwarf) {
  for (const auto& version : all_go_versions()) {
    TARGET_BINARY(full_path, "maps_basic", version, "default");
    TARGET_BINARY(stripped_path, "maps_basic", version, "stripped");
    auto pair = open_pair(full_path, stripped_path);
    ASSERT_TRUE(pair);
    auto& stripped = pair->stripped;

    Dwarf* dw = begin_dwarf(pair->full);
    ASSERT_NE(dw, nullptr);
    size_t rows = 0;
    Dwarf_Off off = 0, next = 0;
    size_t hsize = 0;
    while (dwarf_nextcu(dw, off, &next, &hsize, nullptr, nullptr, nullptr) == 0) {
      Dwarf_Die cu;
      Dwarf_Lines* lines = nullptr;
      size_t n = 0;
      if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_getsrclines(&cu, &lines, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
          Dwarf_Line* line = dwarf_onesrcline(lines, i);
          Dwarf_Addr addr;
          int lineno;
          bool end = false;
          dwarf_lineaddr(line, &addr);
          dwarf_lineno(line, &lineno);
          dwarf_lineendsequence(line, &end);
          const char* file = dwarf_linesrc(line, nullptr, nullptr);
          const Function* f = stripped.tab.function_at(addr);
          if (end || !file || !f || !f->name.starts_with("main.")) continue;
          auto src = stripped.tab.line_for_pc(addr);
          ASSERT_TRUE(src) << version << " " << std::hex << addr;
          EXPECT_EQ(src->line, lineno) << version << " " << f->name << " +" << std::hex << addr - f->entry;
          EXPECT_TRUE(std::string_view(file).ends_with(src->file)) << file << " vs " << src->file;
          rows++;
        }
      }
      off = next;
    }
    dwarf_end(dw);
    EXPECT_GT(rows, 50u) << version;
  }
}

int line_of(const std::string& file, std::string_view needle) {
  std::ifstream in(file);
  std::string line;
  for (int n = 1; std::getline(in, line); n++)
    if (line.find(needle) != std::string::npos) return n;
  return 0;
}

// main.key is inlined into main.fill: a pc inside the inlined body reports
// main.key innermost and the call site in main.fill next.
TEST(Pclntab, InlinedFramesLeadToTheCallSite) {
  std::string source = hotalloc::testing::source_dir() + "/tests/targets/maps_basic/main.go";
  int key_line = line_of(source, "func key(i int) string");
  int call_line = line_of(source, "byString[key(i)] = i");
  ASSERT_GT(key_line, 0);
  ASSERT_GT(call_line, 0);
  for (const auto& version : all_go_versions()) {
    TARGET_BINARY(path, "maps_basic", version, "stripped");
    auto p = parse_file(path);
    ASSERT_TRUE(p);
    const Function* fill = p->tab.find("main.fill");
    ASSERT_NE(fill, nullptr);
    EXPECT_EQ(p->tab.line_for_pc(fill->entry)->line, line_of(source, "func fill(n int)")) << version;
    EXPECT_EQ(p->tab.line_for_pc(fill->entry)->function, "main.fill");
    EXPECT_TRUE(p->tab.line_for_pc(fill->entry)->file.ends_with("maps_basic/main.go"))
        << p->tab.line_for_pc(fill->entry)->file;

    bool seen = false;
    for (uint64_t pc = fill->entry; pc < fill->end && !seen; pc++) {
      auto frames = p->tab.frames_for_pc(pc);
      ASSERT_FALSE(frames.empty());
      EXPECT_EQ(frames.back().function, "main.fill");
      if (frames.size() == 2 && frames[0].function == "main.key") {
        EXPECT_EQ(frames[0].line, key_line) << version;
        EXPECT_EQ(frames[1].line, call_line) << version;
        seen = true;
      }
    }
    EXPECT_TRUE(seen) << version << ": no pc of main.fill is inside the inlined main.key";
  }
}

TEST(Pclntab, PcsOutsideFunctionsHaveNoLine) {
  TARGET_BINARY(path, "maps_basic", "1.26", "stripped");
  auto p = parse_file(path);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->tab.line_for_pc(0));
  EXPECT_FALSE(p->tab.line_for_pc(p->tab.text_start() - 1));
  EXPECT_EQ(p->tab.function_at(~0ull), nullptr);
  EXPECT_TRUE(p->tab.frames_for_pc(~0ull).empty());
}

// Rewrites bytes of the .gopclntab header in a copy of a real binary.
class PclntabCorrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    auto built = hotalloc::testing::go_target("maps_basic", "1.24", "stripped");
    HOTALLOC_REQUIRE(built.has_value(), built ? std::string() : built.error().message);
    bytes_ = read_bytes(*built);
    auto elf = ElfFile::from_memory(bytes_, "orig");
    ASSERT_TRUE(elf);
    header_ = elf->section(".gopclntab")->offset;
    auto info = read_buildinfo(*elf);
    ASSERT_TRUE(info);
    go_ = info->go;
  }

  std::string parse_with(size_t offset, std::span<const uint8_t> patch) {
    auto copy = bytes_;
    std::memcpy(&copy[header_ + offset], patch.data(), patch.size());
    auto elf = ElfFile::from_memory(std::move(copy), "corrupt");
    if (!elf) return elf.error().message;
    auto tab = PcLnTab::parse(*elf, go_);
    return tab ? std::string("(parsed)") : tab.error().message;
  }
  template <typename T>
  std::string parse_with(size_t offset, T value) {
    return parse_with(offset, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof value));
  }

  std::vector<uint8_t> bytes_;
  uint64_t header_ = 0;
  GoVersion go_;
};

TEST_F(PclntabCorrupt, UnknownMagic) {
  EXPECT_EQ(parse_with(0, uint32_t(0x12345678)), ".gopclntab: corrupt header: unknown magic 0x12345678");
}

TEST_F(PclntabCorrupt, OldFormatsAreRefused) {
  EXPECT_NE(parse_with(0, uint32_t(0xfffffffb)).find("Go 1.2–1.15 is not supported"), std::string::npos);
  EXPECT_NE(parse_with(0, uint32_t(0xfffffffa)).find("Go 1.16–1.17 is not supported"), std::string::npos);
}

TEST_F(PclntabCorrupt, HeaderFields) {
  EXPECT_NE(parse_with(4, uint8_t(1)).find("padding"), std::string::npos);
  EXPECT_NE(parse_with(6, uint8_t(3)).find("instruction size 3"), std::string::npos);
  EXPECT_NE(parse_with(7, uint8_t(4)).find("pointer size 4"), std::string::npos);
  EXPECT_NE(parse_with(8, uint64_t(1) << 40).find("functions do not fit"), std::string::npos);
  EXPECT_NE(parse_with(8, uint64_t(0)).find("functions do not fit"), std::string::npos);
  EXPECT_NE(parse_with(8 + 3 * 8, uint64_t(1) << 40).find("beyond the section"), std::string::npos);
  EXPECT_NE(parse_with(8 + 7 * 8, ~uint64_t(0)).find("beyond the section"), std::string::npos);
}

TEST_F(PclntabCorrupt, FunctionTable) {
  auto elf = ElfFile::from_memory(bytes_, "orig");
  ASSERT_TRUE(elf);
  uint64_t functab = *read_le<uint64_t>(elf->section(".gopclntab")->data, 8 + 7 * 8);
  // Function 1's _func offset far outside the section.
  EXPECT_NE(parse_with(functab + 12, uint32_t(0xfffffff0)).find("lies outside the section"), std::string::npos);
  // Function 2's entry before function 1's.
  EXPECT_NE(parse_with(functab + 16, uint32_t(0)).find("out of order"), std::string::npos);
}

}  // namespace
}  // namespace hotalloc::target
