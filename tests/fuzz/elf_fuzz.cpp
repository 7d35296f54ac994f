// Fuzzes everything hotalloc reads from an executable: the ELF structure,
// build info, the function table and function lookups, as GoBinary does,
// but without its version gate so that every version's paths are reached.
//
// Seeds: whole binaries, e.g. a stripped Go test program and /bin/true.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "target/buildinfo.h"
#include "target/elf_file.h"
#include "target/go_binary.h"
#include "target/pclntab.h"

using namespace hotalloc::target;

namespace {

void exercise_elf(const ElfFile& elf) {
  for (const auto& s : elf.sections()) {
    (void)elf.file_offset(s.addr);
    (void)elf.bytes_at(s.addr, s.size);
  }
  for (const auto& seg : elf.segments()) (void)elf.bytes_at(seg.vaddr, seg.filesz);
  (void)elf.symbol("runtime.mallocgc");
  (void)elf.symbol_address("runtime.text");
  (void)elf.build_id();
  (void)elf.has_dwarf();
}

void exercise_table(const PcLnTab& tab) {
  size_t n = 0;
  for (const auto& f : tab.functions()) {
    if (++n > 64) break;
    (void)tab.find(f.name);
    (void)tab.frames_for_pc(f.entry);
    (void)tab.frames_for_pc(f.entry + (f.end - f.entry) / 2);
  }
  (void)tab.function_at(tab.text_start());
  (void)tab.find("runtime.mallocgc");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto elf = ElfFile::from_memory(std::vector<uint8_t>(data, data + size), "fuzz");
  if (!elf) return 0;
  exercise_elf(*elf);

  auto info = read_buildinfo(*elf);
  if (info) {
    if (auto tab = PcLnTab::parse(*elf, info->go)) exercise_table(*tab);
  }

  auto bin = GoBinary::from_elf(std::move(*elf));
  if (bin) {
    for (const char* name : {"runtime.mallocgc", "runtime.(*mcache).refill", "main.main"}) (void)(*bin)->function(name);
  }
  return 0;
}
