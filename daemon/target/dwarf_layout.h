// Struct layouts from a binary's DWARF (libdw), to check the per-version
// offset tables against what the compiler actually emitted. Go binaries
// carry DWARF unless built with -ldflags=-w.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "target/elf_file.h"
#include "util/result.h"

struct Dwarf;  // libdw's handle

namespace hotalloc::target {

struct DwarfMember {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// The named struct types of one binary, indexed once. Must not outlive the
// ElfFile it was loaded from.
class DwarfTypes {
 public:
  // Fails when the binary has no DWARF or it cannot be read.
  static Result<DwarfTypes> load(const ElfFile& elf);

  bool has_type(std::string_view type) const;
  std::optional<uint64_t> type_size(std::string_view type) const;
  // A member of a struct type by name; a dotted path ("stack.hi") descends
  // into nested struct members and adds their offsets.
  std::optional<DwarfMember> member(std::string_view type, std::string_view path) const;

 private:
  struct DwarfCloser {
    void operator()(Dwarf* d) const;
  };
  DwarfTypes() = default;

  std::unique_ptr<Dwarf, DwarfCloser> dwarf_;
  std::unordered_map<std::string, uint64_t> structs_;  // type name -> DIE offset
};

// libdw's handle on the binary's DWARF (null when unreadable, or when the
// file was released), to be released with dwarf_end. The only way in: see
// the definition.
Dwarf* begin_dwarf(const ElfFile& elf);

// One member's offset, without keeping the index: nullopt when the binary's
// DWARF has no such type or member; an error when there is no DWARF.
Result<std::optional<uint64_t>> dwarf_member_offset(const ElfFile& elf, std::string_view type, std::string_view member);

}  // namespace hotalloc::target
