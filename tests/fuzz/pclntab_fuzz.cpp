// Fuzzes the .gopclntab parser and its line and inline-tree lookups.
//
// Input: one byte choosing the Go version the table is read as, then the
// section's bytes. The fuzzer wraps them in a minimal ELF with a module data
// section that points at the table (as runtime.firstmoduledata does), so the
// Go 1.26+ text base and the funcdata (inline tree) paths are reached too.
// Seed: a selector byte followed by a real table, e.g.
//   objcopy -O binary --only-section=.gopclntab BINARY t && (printf '\x02'; cat t) > seeds/t
#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "target/elf_file.h"
#include "target/pclntab.h"

using namespace hotalloc::target;

namespace {

constexpr uint64_t kBase = 0x400000;
constexpr uint64_t kModuleOff = 0x100;
constexpr uint64_t kModuleSize = 0x200;
constexpr uint64_t kNamesOff = 0x300;
constexpr uint64_t kTableOff = 0x400;
constexpr std::string_view kNames("\0.gopclntab\0.go.module\0.shstrtab\0", 34);

template <typename T>
void put(std::vector<uint8_t>& out, uint64_t off, const T& v) {
  std::memcpy(&out[off], &v, sizeof v);
}

uint64_t header_word(std::span<const uint8_t> table, int i) {
  uint64_t v = 0;
  if (table.size() >= 8 + 8 * (size_t(i) + 1)) std::memcpy(&v, table.data() + 8 + 8 * i, sizeof v);
  return v;
}

std::vector<uint8_t> wrap(std::span<const uint8_t> table, uint64_t gofunc_offset) {
  uint64_t shoff = (kTableOff + table.size() + 7) & ~uint64_t(7);
  std::vector<uint8_t> out(shoff + 4 * sizeof(Elf64_Shdr));

  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_shoff = shoff;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = 4;
  eh.e_shstrndx = 3;
  put(out, 0, eh);

  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_flags = PF_R | PF_W | PF_X;
  ph.p_vaddr = ph.p_paddr = kBase;
  ph.p_filesz = ph.p_memsz = out.size();
  ph.p_align = 0x1000;
  put(out, eh.e_phoff, ph);

  // runtime.firstmoduledata: pcHeader, funcnametab, ftab, text, gofunc.
  uint64_t table_addr = kBase + kTableOff;
  put(out, kModuleOff + 0, table_addr);
  put(out, kModuleOff + 8, table_addr + header_word(table, 3));
  put(out, kModuleOff + 128, table_addr + header_word(table, 7));
  put(out, kModuleOff + 176, kBase + 0x1000);
  put(out, kModuleOff + gofunc_offset, table_addr);

  std::memcpy(&out[kNamesOff], kNames.data(), kNames.size());
  std::memcpy(&out[kTableOff], table.data(), table.size());

  auto section = [&](int index, uint32_t name, uint32_t type, uint64_t off, uint64_t size) {
    Elf64_Shdr sh{};
    sh.sh_name = name;
    sh.sh_type = type;
    sh.sh_addr = type == SHT_STRTAB ? 0 : kBase + off;
    sh.sh_offset = off;
    sh.sh_size = size;
    sh.sh_addralign = 1;
    put(out, shoff + index * sizeof(Elf64_Shdr), sh);
  };
  section(1, 1, SHT_PROGBITS, kTableOff, table.size());
  section(2, 12, SHT_PROGBITS, kModuleOff, kModuleSize);
  section(3, 23, SHT_STRTAB, kNamesOff, kNames.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // Versions whose module data and funcID numbering differ.
  static const char* const kVersions[] = {"go1.19.8", "go1.22.12", "go1.26.11", "go1.27.4"};
  static const uint64_t kGofuncOffsets[] = {304, 320, 320, 344};
  size_t pick = data[0] % 4;
  auto go = GoVersion::parse(kVersions[pick]);

  auto elf = ElfFile::from_memory(wrap(std::span(data + 1, size - 1), kGofuncOffsets[pick]), "fuzz");
  if (!elf) __builtin_trap();  // the wrapper always builds a valid ELF
  auto tab = PcLnTab::parse(*elf, *go);
  if (!tab) return 0;
  size_t n = 0;
  for (const auto& f : tab->functions()) {
    if (++n > 256) break;
    (void)tab->find(f.name);
    for (uint64_t pc = f.entry; pc < f.end && pc < f.entry + 64; pc += 7) (void)tab->frames_for_pc(pc);
  }
  (void)tab->line_for_pc(tab->text_start());
  return 0;
}
