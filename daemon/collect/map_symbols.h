// What a traced process's map addresses mean: creation sites (return
// addresses through the binary's .gopclntab, with a PIE's load bias) and
// type descriptors (runtime._type: its name lives at the module's types
// base plus its nameOff, its kind in Kind_). Reads the process's memory,
// never writes it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "heapprof/process_memory.h"
#include "heapprof/symbolizer.h"
#include "target/procfs.h"
#include "target/runtime_layout.h"
#include "util/result.h"

namespace hotalloc::collect {

// A source position as the metrics label it: "main.go:42" (the file's basename).
std::string site_label(const target::SourceLine& line);

struct TypeName {
  std::string name;  // "int64", "main.key", "*main.node"
  uint8_t kind = 0;  // reflect.Kind
};

// One process. Opening reads /proc/PID/maps and the module data; type
// lookups are cached, sites by the binary's shared Symbolizer.
class MapSymbols {
 public:
  static Result<std::unique_ptr<MapSymbols>> open(const target::ProcFs& procfs, int pid,
                                                  std::shared_ptr<const heapprof::Symbolizer> symbolizer);

  const target::RuntimeLayout& layout() const { return layout_; }

  // Source position of the call a return address follows, innermost inlined frame.
  std::optional<target::SourceLine> call_site(uint64_t return_address) const;
  std::optional<TypeName> type(uint64_t type_address);

  Status read(uint64_t addr, std::span<uint8_t> out) {
    heapprof::Range r{addr, out};
    return read({&r, 1});
  }
  // Every range in as few system calls as can be; fails when one fails.
  Status read(std::span<const heapprof::Range> ranges) { return memory_.read(ranges); }
  // Every range that can be read, in as few system calls as can be; which were.
  std::vector<bool> read_each(std::span<const heapprof::Range> ranges) { return memory_.read_each(ranges); }
  template <typename T>
  Result<T> read_value(uint64_t addr) {
    T v{};
    if (auto st = read(addr, {reinterpret_cast<uint8_t*>(&v), sizeof v}); !st) return fail(st.error());
    return v;
  }

 private:
  explicit MapSymbols(int pid) : memory_(pid) {}

  heapprof::ProcessMemory memory_;
  std::shared_ptr<const heapprof::Symbolizer> symbolizer_;
  target::RuntimeLayout layout_;
  uint64_t bias_ = 0;
  uint64_t types_base_ = 0;  // moduledata.types in the process
  std::map<uint64_t, std::optional<TypeName>> types_;
};

}  // namespace hotalloc::collect
