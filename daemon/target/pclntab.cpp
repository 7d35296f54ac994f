#include "target/pclntab.h"

#include <algorithm>
#include <climits>

#include "target/buildinfo.h"
#include "target/byte_reader.h"

namespace hotalloc::target {

namespace {

constexpr uint32_t kMagic118 = 0xfffffff0;  // Go 1.18–1.19
constexpr uint32_t kMagic120 = 0xfffffff1;  // Go 1.20 and later
constexpr uint32_t kMagic116 = 0xfffffffa;  // Go 1.16–1.17
constexpr uint32_t kMagic12 = 0xfffffffb;   // Go 1.2–1.15

// pcHeader: magic u32, pad u8 ×2, minLC u8, ptrSize u8, then eight words.
constexpr size_t kHeaderSize = 8 + 8 * 8;
constexpr size_t kHeaderWord = 8;

// runtime.moduledata: pcHeader 0, funcnametab 8, ftab 128, text 176 in every
// supported version; gofunc moved as fields were added before it (covctrs in
// 1.20; typedesclen, itaboffset, itabsize in 1.27).
constexpr uint64_t kModFuncnametab = 8;
constexpr uint64_t kModFtab = 128;
constexpr uint64_t kModText = 176;

uint64_t moduledata_gofunc_offset(const GoVersion& go) {
  if (!go.at_least(1, 20)) return 304;
  if (!go.at_least(1, 27)) return 320;
  return 344;
}

// abi.FuncIDWrapper, the last funcID of each version: entries were added
// before it (corostart in 1.22, runCleanups in 1.25).
uint8_t wrapper_func_id(const GoVersion& go) {
  if (!go.at_least(1, 22)) return 21;
  if (!go.at_least(1, 25)) return 22;
  return 23;
}

// PCDATA_InlTreeIndex and FUNCDATA_InlTree (internal/abi).
constexpr uint32_t kPcdataInlTreeIndex = 2;
constexpr uint32_t kFuncdataInlTree = 3;
constexpr uint32_t kNoFuncdata = 0xffffffff;
constexpr uint32_t kNoFile = 0xffffffff;
constexpr int kMaxInlineDepth = 256;  // bounds the walk over a corrupt inline tree

// _func field offsets shared by both formats.
constexpr uint32_t kFuncEntryOff = 0;
constexpr uint32_t kFuncNameOff = 4;
constexpr uint32_t kFuncPcfile = 20;
constexpr uint32_t kFuncPcln = 24;
constexpr uint32_t kFuncNpcdata = 28;
constexpr uint32_t kFuncCuOffset = 32;

// The bytes of runtime.firstmoduledata (and its address in *addr): the
// pointer-aligned word that points at the pcHeader, confirmed by its
// funcnametab and ftab pointers.
std::span<const uint8_t> find_moduledata(const ElfFile& elf, uint64_t header_addr, uint64_t funcnames,
                                         uint64_t functab, uint64_t* addr) {
  for (std::string_view name : {".go.module", ".noptrdata", ".data", ".data.rel.ro"}) {
    const Section* s = elf.section(name);
    if (!s) continue;
    size_t first = (8 - s->addr % 8) % 8;
    for (size_t off = first; off + kModText + 16 <= s->data.size(); off += 8) {
      if (read_le<uint64_t>(s->data, off) != header_addr) continue;
      auto md = s->data.subspan(off);
      if (read_le<uint64_t>(md, kModFuncnametab) == header_addr + funcnames &&
          read_le<uint64_t>(md, kModFtab) == header_addr + functab) {
        *addr = s->addr + off;
        return md;
      }
    }
  }
  return {};
}

}  // namespace

Result<PcLnTab> PcLnTab::parse(const ElfFile& elf) {
  auto info = read_buildinfo(elf);
  if (!info) return fail(info.error());
  return parse(elf, info->go);
}

Result<PcLnTab> PcLnTab::parse(const ElfFile& elf, const GoVersion& go) {
  // PIE binaries linked internally by Go before 1.26 name it .data.rel.ro.gopclntab.
  const Section* section = elf.section(".gopclntab");
  if (!section) section = elf.section(".data.rel.ro.gopclntab");
  if (!section) return fail("not a Go binary: no .gopclntab section");

  PcLnTab tab;
  if (auto ok = tab.read_header(elf, *section, go); !ok) return fail(ok.error().context(section->name));
  if (auto ok = tab.read_functions(wrapper_func_id(go)); !ok) return fail(ok.error().context(section->name));
  return tab;
}

Status PcLnTab::read_header(const ElfFile& elf, const Section& section, const GoVersion& go) {
  table_ = section.data;
  if (table_.size() < kHeaderSize)
    return fail("truncated: header needs {} bytes, section has {}", kHeaderSize, table_.size());
  uint32_t magic = *read_le<uint32_t>(table_, 0);
  switch (magic) {
    // 1.18–1.19: _func has no startLine; inlinedCall is {parent i16, funcID u8, _, file i32,
    // line i32, nameOff i32, parentPc i32}.
    case kMagic118:
      format_ = {40, 36, 39, 20, 12, 16};
      break;
    // 1.20+: startLine precedes funcID; inlinedCall is {funcID u8, _ [3], nameOff i32,
    // parentPc i32, startLine i32}.
    case kMagic120:
      format_ = {44, 40, 43, 16, 4, 8};
      break;
    case kMagic116:
      return fail("table format of Go 1.16–1.17 is not supported (supported: {})", supported_go_versions());
    case kMagic12:
      return fail("table format of Go 1.2–1.15 is not supported (supported: {})", supported_go_versions());
    default:
      return fail("corrupt header: unknown magic {:#x}", magic);
  }
  uint8_t min_lc = table_[6], ptr_size = table_[7];
  if (table_[4] != 0 || table_[5] != 0) return fail("corrupt header: nonzero padding");
  if (min_lc != 1 && min_lc != 2 && min_lc != 4) return fail("corrupt header: instruction size {}", min_lc);
  if (ptr_size != 8) return fail("corrupt header: pointer size {} (only 64-bit targets are supported)", ptr_size);
  quantum_ = min_lc;

  auto word = [this](int i) { return *read_le<uint64_t>(table_, 8 + kHeaderWord * i); };
  nfunc_ = word(0);
  uint64_t header_text = word(2);
  funcnames_ = word(3);
  cutab_ = word(4);
  filetab_ = word(5);
  pctab_ = word(6);
  functab_ = word(7);
  for (uint64_t off : {funcnames_, cutab_, filetab_, pctab_, functab_})
    if (off > table_.size())
      return fail("corrupt header: table offset {:#x} beyond the section's {} bytes", off, table_.size());
  // The function table holds nfunc+1 {entryOff, funcOff} pairs; the last marks the end of text.
  if (nfunc_ == 0 || nfunc_ >= (table_.size() - functab_) / 8)
    return fail("corrupt header: {} functions do not fit in the section", nfunc_);

  auto md = find_moduledata(elf, section.addr, funcnames_, functab_, &moduledata_addr_);
  if (!md.empty()) {
    auto gofunc = read_le<uint64_t>(md, moduledata_gofunc_offset(go));
    if (const Segment* seg = gofunc ? elf.segment_at(*gofunc) : nullptr)
      gofunc_ = seg->data.subspan(*gofunc - seg->vaddr);
  }
  // Go 1.26 stopped writing textStart; before that it equals moduledata.text.
  text_start_ = header_text;
  if (text_start_ == 0 && !md.empty()) text_start_ = *read_le<uint64_t>(md, kModText);
  auto runtime_text = elf.symbol_address("runtime.text");
  if (text_start_ == 0 && runtime_text) text_start_ = *runtime_text;
  if (text_start_ == 0) return fail("cannot find the start of Go text: no module data and no runtime.text symbol");
  if (runtime_text && *runtime_text != text_start_)
    return fail("corrupt: text starts at {:#x} but runtime.text is {:#x}", text_start_, *runtime_text);
  return {};
}

Status PcLnTab::read_functions(uint8_t wrapper_id) {
  functions_.reserve(nfunc_);
  func_offsets_.reserve(nfunc_);
  auto ftab = table_.subspan(functab_);
  uint32_t prev_entry = 0;
  for (uint64_t i = 0; i < nfunc_; i++) {
    uint32_t entry_off = *read_le<uint32_t>(ftab, 8 * i);
    uint32_t func_off = *read_le<uint32_t>(ftab, 8 * i + 4);
    uint32_t next_entry = *read_le<uint32_t>(ftab, 8 * (i + 1));
    if (entry_off < prev_entry || next_entry < entry_off)
      return fail("corrupt function table: entries out of order at function {}", i);
    prev_entry = entry_off;

    uint64_t func = functab_ + func_off;
    if (!in_bounds(func, format_.func_header_size, table_.size()))
      return fail("corrupt function table: function {} lies outside the section", i);
    if (*read_le<uint32_t>(table_, func + kFuncEntryOff) != entry_off)
      return fail("corrupt function table: function {} has a mismatched entry", i);
    int32_t name_off = *read_le<int32_t>(table_, func + kFuncNameOff);
    auto name = name_off < 0 ? std::nullopt : read_cstring(table_.subspan(funcnames_), uint64_t(name_off));
    if (!name) return fail("corrupt function table: name of function {} out of bounds", i);

    uint8_t func_id = table_[func + format_.func_id_offset];
    functions_.push_back(Function{std::string(*name), text_start_ + entry_off, text_start_ + next_entry, func_id});
    func_offsets_.push_back(func);
    auto [it, inserted] = by_name_.try_emplace(*name, functions_.size() - 1);
    if (!inserted && functions_[it->second].func_id == wrapper_id && func_id != wrapper_id)
      it->second = functions_.size() - 1;
  }
  return {};
}

const Function* PcLnTab::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &functions_[it->second];
}

const Function* PcLnTab::function_at(uint64_t pc) const {
  auto it = std::upper_bound(functions_.begin(), functions_.end(), pc,
                             [](uint64_t v, const Function& f) { return v < f.entry; });
  if (it == functions_.begin()) return nullptr;
  --it;
  return pc < it->end ? &*it : nullptr;
}

std::optional<uint32_t> PcLnTab::func_field(size_t index, uint32_t offset) const {
  return read_le<uint32_t>(table_, func_offsets_[index] + offset);
}

// Walks a pc-value table (runtime.pcvalue): pairs of zigzag value deltas and
// pc deltas in instruction quanta, starting from value -1 at the entry.
std::optional<int32_t> PcLnTab::pc_value(uint32_t table, uint64_t entry, uint64_t pc) const {
  if (table == 0) return std::nullopt;
  ByteReader in(table_, pctab_ + table);
  uint32_t value = uint32_t(-1);  // unsigned: corrupt deltas may overflow
  uint64_t at = entry;
  for (bool first = true;; first = false) {
    auto uv = in.uvarint();
    if (!uv || (*uv == 0 && !first)) return std::nullopt;
    value += (*uv & 1) ? ~uint32_t(*uv >> 1) : uint32_t(*uv >> 1);
    auto delta = in.uvarint();
    if (!delta) return std::nullopt;
    at += *delta * quantum_;
    if (pc < at) return static_cast<int32_t>(value);
  }
}

std::string PcLnTab::file_name(size_t index, int32_t file_number) const {
  auto cu = func_field(index, kFuncCuOffset);
  if (!cu || file_number < 0) return {};
  auto file_off = read_le<uint32_t>(table_, cutab_ + (uint64_t(*cu) + uint64_t(file_number)) * 4);
  if (!file_off || *file_off == kNoFile) return {};
  auto name = read_cstring(table_.subspan(filetab_), *file_off);
  return name ? std::string(*name) : std::string();
}

void PcLnTab::position(size_t index, uint64_t pc, SourceLine& out) const {
  uint64_t entry = functions_[index].entry;
  if (auto t = func_field(index, kFuncPcfile))
    if (auto file = pc_value(*t, entry, pc)) out.file = file_name(index, *file);
  if (auto t = func_field(index, kFuncPcln))
    if (auto line = pc_value(*t, entry, pc)) out.line = *line;
}

std::vector<SourceLine> PcLnTab::frames_for_pc(uint64_t pc) const {
  const Function* f = function_at(pc);
  if (!f) return {};
  size_t index = static_cast<size_t>(f - functions_.data());
  std::vector<SourceLine> frames;

  // The inline tree: pcdata[InlTreeIndex] maps a pc to an inlinedCall, whose
  // parentPc leads to the call site in the enclosing function.
  auto npcdata = func_field(index, kFuncNpcdata);
  uint64_t func = func_offsets_[index];
  std::optional<uint32_t> index_table, tree;
  if (npcdata && *npcdata > kPcdataInlTreeIndex && !gofunc_.empty() &&
      table_[func + format_.nfuncdata_offset] > kFuncdataInlTree) {
    index_table = func_field(index, format_.func_header_size + 4 * kPcdataInlTreeIndex);
    tree = func_field(index, format_.func_header_size + 4 * (*npcdata + kFuncdataInlTree));
  }
  if (index_table && tree && *tree != kNoFuncdata) {
    // A call's parent is added to the tree before it, so indices fall
    // towards the root; anything else is corrupt and ends the walk.
    int32_t last = INT32_MAX;
    for (int depth = 0; depth < kMaxInlineDepth; depth++) {
      auto ix = pc_value(*index_table, f->entry, pc);
      if (!ix || *ix < 0 || *ix >= last) break;
      last = *ix;
      uint64_t call = uint64_t(*tree) + uint64_t(*ix) * format_.inline_entry_size;
      auto name_off = read_le<int32_t>(gofunc_, call + format_.inline_name_offset);
      auto parent_pc = read_le<int32_t>(gofunc_, call + format_.inline_parent_pc_offset);
      if (!name_off || !parent_pc || *name_off < 0) break;
      SourceLine frame;
      position(index, pc, frame);
      auto name = read_cstring(table_.subspan(funcnames_), uint64_t(*name_off));
      frame.function = name ? std::string(*name) : std::string();
      frames.push_back(std::move(frame));
      pc = f->entry + uint64_t(int64_t(*parent_pc));
    }
  }
  SourceLine outer;
  position(index, pc, outer);
  outer.function = f->name;
  frames.push_back(std::move(outer));
  return frames;
}

std::optional<SourceLine> PcLnTab::line_for_pc(uint64_t pc) const {
  auto frames = frames_for_pc(pc);
  if (frames.empty()) return std::nullopt;
  return std::move(frames.front());
}

}  // namespace hotalloc::target
