// The Go function table (.gopclntab, runtime.pcHeader and what follows it),
// which every Go binary keeps even when stripped: function names and entry
// addresses, and the pc-value tables behind file:line and inlining.
//
// Formats handled: Go 1.18–1.19 (magic 0xfffffff0) and 1.20+ (0xfffffff1).
// From Go 1.26 the header's textStart is 0 and the text base comes from the
// module data (runtime.firstmoduledata.text), found through its pointer to
// the header.
//
// A PcLnTab refers to the ElfFile's bytes: it must not outlive the ElfFile
// it was parsed from (moving the ElfFile is fine).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "target/elf_file.h"
#include "target/go_version.h"
#include "util/result.h"

namespace hotalloc::target {

struct Function {
  std::string name;  // as the runtime knows it: "runtime.(*mcache).refill", no ".abi0"
  uint64_t entry = 0;
  uint64_t end = 0;     // the next function's entry (alignment padding included)
  uint8_t func_id = 0;  // abi.FuncID; values differ between Go versions
};

struct SourceLine {
  std::string file;
  int line = 0;
  std::string function;  // the (possibly inlined) function the pc belongs to
};

class PcLnTab {
 public:
  // `go` selects per-version details the table itself does not record (the
  // funcID of ABI wrappers, the module data layout).
  static Result<PcLnTab> parse(const ElfFile& elf, const GoVersion& go);
  // Reads the Go version from the binary's build info first.
  static Result<PcLnTab> parse(const ElfFile& elf);

  // By exact name. Where a name appears twice, an ABI wrapper and the body
  // it calls share it; this returns the body (funcID not "wrapper"). For Go
  // functions the body is the ABIInternal code .symtab names plainly. For the
  // few assembly functions that Go code calls through an ABIInternal wrapper
  // (runtime.asmcgocall, runtime.reflectcall, ...) the body is the ABI0 code
  // that .symtab names "NAME.abi0".
  const Function* find(std::string_view name) const;
  // The function whose [entry, end) contains pc.
  const Function* function_at(uint64_t pc) const;
  std::span<const Function> functions() const { return functions_; }
  uint64_t text_start() const { return text_start_; }
  // Link-time address of runtime.firstmoduledata; 0 when it was not found.
  uint64_t moduledata_address() const { return moduledata_addr_; }

  // Source position of pc, innermost inlined frame first; the last frame is
  // the function that contains pc. Empty when pc is in no function.
  std::vector<SourceLine> frames_for_pc(uint64_t pc) const;
  std::optional<SourceLine> line_for_pc(uint64_t pc) const;

 private:
  // What differs between the two table formats.
  struct Format {
    uint32_t func_header_size;  // bytes of _func before its pcdata array
    uint32_t func_id_offset;
    uint32_t nfuncdata_offset;
    uint32_t inline_entry_size;  // one runtime.inlinedCall
    uint32_t inline_name_offset;
    uint32_t inline_parent_pc_offset;
  };

  PcLnTab() = default;
  Status read_header(const ElfFile& elf, const Section& section, const GoVersion& go);
  Status read_functions(uint8_t wrapper_id);

  std::optional<int32_t> pc_value(uint32_t table, uint64_t entry, uint64_t pc) const;
  std::optional<uint32_t> func_field(size_t index, uint32_t offset) const;
  std::string file_name(size_t index, int32_t file_number) const;
  void position(size_t index, uint64_t pc, SourceLine& out) const;

  std::span<const uint8_t> table_;
  Format format_{};
  uint64_t quantum_ = 1;  // instruction size unit of pc deltas
  uint64_t nfunc_ = 0;
  uint64_t text_start_ = 0;
  uint64_t moduledata_addr_ = 0;
  uint64_t funcnames_ = 0, cutab_ = 0, filetab_ = 0, pctab_ = 0, functab_ = 0;  // offsets in table_
  std::span<const uint8_t> gofunc_;  // funcdata base (moduledata.gofunc) to its segment's end; empty if unknown

  std::vector<Function> functions_;
  std::vector<uint64_t> func_offsets_;                    // each function's _func, as an offset in table_
  std::unordered_map<std::string_view, size_t> by_name_;  // views of names in table_
};

}  // namespace hotalloc::target
