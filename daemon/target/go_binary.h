// A Go executable as hotalloc sees it: its ELF file, Go version, function
// table, runtime struct layout, and where each hooked function lives, in
// memory and in the file. Opening refuses anything hotalloc cannot trace,
// saying why.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "target/buildinfo.h"
#include "target/elf_file.h"
#include "target/go_version.h"
#include "target/pclntab.h"
#include "target/runtime_layout.h"
#include "util/result.h"

namespace hotalloc::target {

struct FunctionInfo {
  std::string name;
  uint64_t address = 0;           // virtual address of the entry, as linked
  uint64_t size = 0;              // symbol size, or up to the next function in pclntab
  uint64_t file_offset = 0;       // where uprobes attach
  std::span<const uint8_t> code;  // the function's bytes in the file
  bool from_symtab = false;       // address and size came from .symtab, not .gopclntab
};

class GoBinary {
 public:
  // Refuses non-ELF, non-Go, truncated or corrupt files, unsupported
  // architectures, Go versions older than the oldest supported, and versions
  // without a layout table whose DWARF cannot stand in for it (see
  // choose_layout); errors start with the path.
  static Result<std::shared_ptr<const GoBinary>> open(const std::string& path);
  // The same checks on an ElfFile already loaded (from memory, in fuzzers).
  static Result<std::shared_ptr<const GoBinary>> from_elf(ElfFile elf);

  const ElfFile& elf() const { return elf_; }
  const BuildInfo& build_info() const { return build_info_; }
  const GoVersion& go_version() const { return build_info_.go; }
  const PcLnTab& pclntab() const { return *pclntab_; }
  bool stripped() const { return !elf_.has_symtab(); }
  // The struct offsets BPF reads in this binary, and where they came from.
  const LayoutChoice& layout() const { return layout_; }

  // A function by its runtime name ("runtime.(*mcache).refill"); nullopt if
  // the binary does not contain it (the linker drops unreachable functions).
  std::optional<FunctionInfo> function(std::string_view name) const;

 private:
  explicit GoBinary(ElfFile elf) : elf_(std::move(elf)) {}

  ElfFile elf_;
  BuildInfo build_info_;
  LayoutChoice layout_;
  std::optional<PcLnTab> pclntab_;  // set once parsed; views into elf_
};

}  // namespace hotalloc::target
