#include "target/dwarf_layout.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

namespace hotalloc::target {

namespace {

// Follows typedefs and qualifiers to the type they name.
bool strip_typedefs(Dwarf_Die* die) {
  for (int i = 0; i < 16; i++) {
    int tag = dwarf_tag(die);
    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type) return true;
    Dwarf_Attribute attr;
    if (!dwarf_attr(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, die)) return false;
  }
  return false;
}

bool find_member(Dwarf_Die* parent, std::string_view name, Dwarf_Die* out) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return false;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    const char* n = dwarf_diename(&child);
    if (n && name == n) {
      *out = child;
      return true;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

}  // namespace

void DwarfTypes::DwarfCloser::operator()(Dwarf* d) const { dwarf_end(d); }

Dwarf* begin_dwarf(const ElfFile& elf) {
  // Go compresses its DWARF, and libdw keeps the decompressed sections (5
  // MiB and more) with the libelf descriptor it read them through. From the
  // file, libdw opens a descriptor of its own and frees it, sections and
  // all, at dwarf_end; through the ElfFile's, they would stay as long as
  // the binary is loaded (and its read-only mapping could not take the
  // section headers libelf rewrites as it decompresses).
  if (elf.fd() >= 0) return dwarf_begin(elf.fd(), DWARF_C_READ);
  if (elf.released()) return nullptr;  // GoBinary is done with its DWARF
  return dwarf_begin_elf(elf.handle(), DWARF_C_READ, nullptr);  // an image in memory: writable
}

Result<DwarfTypes> DwarfTypes::load(const ElfFile& elf) {
  if (!elf.has_dwarf()) return fail("{}: no DWARF (built with -ldflags=-w or stripped)", elf.path());
  if (elf.released()) return fail("{}: DWARF no longer read: the file was released after parsing", elf.path());
  DwarfTypes types;
  types.dwarf_.reset(begin_dwarf(elf));
  if (!types.dwarf_) return fail("{}: cannot read DWARF: {}", elf.path(), dwarf_errmsg(-1));

  Dwarf_Off offset = 0, next = 0;
  size_t header_size = 0;
  while (dwarf_nextcu(types.dwarf_.get(), offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(types.dwarf_.get(), offset + header_size, &cu) && dwarf_child(&cu, &child) == 0) {
      do {
        if (dwarf_tag(&child) != DW_TAG_structure_type || dwarf_hasattr(&child, DW_AT_declaration)) continue;
        if (const char* name = dwarf_diename(&child)) types.structs_.try_emplace(name, dwarf_dieoffset(&child));
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    offset = next;
  }
  return types;
}

bool DwarfTypes::has_type(std::string_view type) const { return structs_.contains(std::string(type)); }

std::optional<uint64_t> DwarfTypes::type_size(std::string_view type) const {
  auto it = structs_.find(std::string(type));
  Dwarf_Die die;
  Dwarf_Word size;
  if (it == structs_.end() || !dwarf_offdie(dwarf_.get(), it->second, &die) || dwarf_aggregate_size(&die, &size) != 0)
    return std::nullopt;
  return size;
}

std::optional<DwarfMember> DwarfTypes::member(std::string_view type, std::string_view path) const {
  auto it = structs_.find(std::string(type));
  Dwarf_Die die;
  if (it == structs_.end() || !dwarf_offdie(dwarf_.get(), it->second, &die)) return std::nullopt;

  DwarfMember out;
  while (!path.empty()) {
    auto dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);

    Dwarf_Die member;
    Dwarf_Word location;
    Dwarf_Attribute attr;
    if (!strip_typedefs(&die) || !find_member(&die, name, &member)) return std::nullopt;
    // Go writes member offsets as constants, never as location expressions.
    if (!dwarf_attr(&member, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &location) != 0)
      return std::nullopt;
    out.offset += location;
    if (!dwarf_attr(&member, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &die)) return std::nullopt;
  }
  Dwarf_Word size;
  if (!strip_typedefs(&die) || dwarf_aggregate_size(&die, &size) != 0) return std::nullopt;
  out.size = size;
  return out;
}

Result<std::optional<uint64_t>> dwarf_member_offset(const ElfFile& elf, std::string_view type,
                                                    std::string_view member) {
  auto types = DwarfTypes::load(elf);
  if (!types) return fail(types.error());
  auto m = types->member(type, member);
  return m ? std::optional<uint64_t>(m->offset) : std::nullopt;
}

}  // namespace hotalloc::target
