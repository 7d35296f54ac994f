#include "target/go_binary.h"

namespace hotalloc::target {

Result<std::shared_ptr<const GoBinary>> GoBinary::open(const std::string& path) {
  auto elf = ElfFile::open(path);
  if (!elf) return fail(elf.error());
  return from_elf(std::move(*elf));
}

Result<std::shared_ptr<const GoBinary>> GoBinary::from_elf(ElfFile elf) {
  // Heap-allocated first so that the function table can refer to the ELF
  // image inside it.
  std::shared_ptr<GoBinary> bin(new GoBinary(std::move(elf)));
  const std::string& path = bin->elf_.path();

  auto info = read_buildinfo(bin->elf_);
  if (!info) return fail(info.error().context(path));
  bin->build_info_ = std::move(*info);
  if (go_support(bin->go_version()) == GoSupport::too_old)
    return fail(check_go_supported(bin->go_version()).error().context(path));

  auto tab = PcLnTab::parse(bin->elf_, bin->go_version());
  if (!tab) return fail(tab.error().context(path));
  bin->pclntab_ = std::move(*tab);

  {
    // Unreadable DWARF counts as none: the table alone, where there is one.
    // Closed here, before its file is released below.
    std::optional<DwarfTypes> dwarf;
    if (bin->elf_.has_dwarf()) {
      if (auto types = DwarfTypes::load(bin->elf_)) dwarf = std::move(*types);
    }
    auto layout = choose_layout(bin->go_version(), dwarf ? &*dwarf : nullptr);
    if (!layout) return fail(layout.error().context(path));
    bin->layout_ = std::move(*layout);
  }
  // Parsing read the whole function table and symbol table; later lookups
  // read a few pages each. The pages go back to the page cache (which the
  // traced processes share) rather than counting as the daemon's memory.
  bin->elf_.release_file();
  return std::shared_ptr<const GoBinary>(std::move(bin));
}

std::optional<FunctionInfo> GoBinary::function(std::string_view name) const {
  FunctionInfo info{std::string(name)};
  const Function* f = pclntab_->find(name);
  if (auto sym = elf_.symbol(name)) {
    info.address = sym->address;
    info.size = sym->size;
    info.from_symtab = true;
  } else if (f) {
    info.address = f->entry;
  } else {
    return std::nullopt;
  }
  // Assembly symbols may have no size; pclntab knows where the next function starts.
  if (info.size == 0 && f && f->entry == info.address) info.size = f->end - f->entry;

  auto offset = elf_.file_offset(info.address);
  auto code = elf_.bytes_at(info.address, info.size);
  if (!offset || !code) return std::nullopt;
  info.file_offset = *offset;
  info.code = *code;
  return info;
}

}  // namespace hotalloc::target
