#include "collect/map_symbols.h"

#include <cstring>
#include <filesystem>

#include "heapprof/load_bias.h"

namespace hotalloc::collect {
namespace {

// runtime.moduledata.types: after covctrs/ecovctrs (added in 1.20), end,
// gcdata and gcbss; checked against DWARF of 1.19 and 1.27.
uint64_t moduledata_types_offset(const target::GoVersion& go) { return go.at_least(1, 20) ? 296 : 280; }

// internal/abi.Type (runtime._type): Size_ 0, TFlag 20, Kind_ 23, Str 40.
constexpr size_t kTypeHeader = 48;
constexpr uint8_t kTFlagExtraStar = 1 << 1;  // the name has a '*' prefix to drop
constexpr uint8_t kKindMask = 0x1f;
constexpr size_t kMaxTypeName = 256;

}  // namespace

std::string site_label(const target::SourceLine& line) {
  return fmt::format("{}:{}", std::filesystem::path(line.file).filename().string(), line.line);
}

Result<std::unique_ptr<MapSymbols>> MapSymbols::open(const target::ProcFs& procfs, int pid,
                                                     std::shared_ptr<const heapprof::Symbolizer> symbolizer) {
  std::unique_ptr<MapSymbols> p(new MapSymbols(pid));
  p->symbolizer_ = std::move(symbolizer);
  const target::GoBinary& bin = p->symbolizer_->binary();
  // The layout the probes were planned with: the table as DWARF corrected it.
  p->layout_ = bin.layout().layout;
  auto id = procfs.identity(pid);
  if (!id) return fail(id.error());
  auto bias = heapprof::load_bias(procfs.root(), pid, bin.elf(), id->exe.ino);
  if (!bias) return fail(bias.error());
  p->bias_ = *bias;
  if (uint64_t md = bin.pclntab().moduledata_address()) {
    auto types = p->read_value<uint64_t>(md + p->bias_ + moduledata_types_offset(bin.go_version()));
    if (types) p->types_base_ = *types;
  }
  return p;
}

std::optional<target::SourceLine> MapSymbols::call_site(uint64_t return_address) const {
  if (return_address <= bias_) return std::nullopt;
  auto frames = symbolizer_->frames_of_return(return_address - bias_);
  if (!frames || frames->empty()) return std::nullopt;
  return frames->front();
}

std::optional<TypeName> MapSymbols::type(uint64_t type_address) {
  auto [it, inserted] = types_.try_emplace(type_address);
  if (!inserted || !type_address || !types_base_) return it->second;
  uint8_t hdr[kTypeHeader];
  if (!read(type_address, hdr)) return it->second;
  TypeName t;
  t.kind = hdr[23] & kKindMask;
  int32_t str = 0;
  std::memcpy(&str, hdr + 40, 4);
  // abi.Name: a flags byte, a uvarint length, the bytes.
  uint8_t name[kMaxTypeName];
  uint64_t at = types_base_ + static_cast<uint64_t>(static_cast<int64_t>(str));
  if (!read(at, {name, 16})) return it->second;
  uint64_t len = 0;
  size_t pos = 1;
  for (int shift = 0; pos < 11; pos++, shift += 7) {
    len |= uint64_t(name[pos] & 0x7f) << shift;
    if (!(name[pos] & 0x80)) break;
  }
  pos++;
  len = std::min<uint64_t>(len, kMaxTypeName - pos);
  if (!read(at, {name, pos + len})) return it->second;
  t.name.assign(reinterpret_cast<const char*>(name + pos), len);
  if ((hdr[20] & kTFlagExtraStar) && !t.name.empty() && t.name[0] == '*') t.name.erase(0, 1);
  it->second = std::move(t);
  return it->second;
}

}  // namespace hotalloc::collect
