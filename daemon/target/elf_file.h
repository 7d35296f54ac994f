// A read-only view of a 64-bit little-endian ELF file (x86-64 or arm64), as
// far as hotalloc needs it: sections, loadable segments, .symtab symbols,
// notes, and the mapping from virtual addresses to file offsets that uprobes
// attach by.
//
// Parsing goes through libelf, but every offset and size taken from the file
// is checked against the file's length first, so a truncated or corrupt file
// yields an error naming what is wrong rather than a crash. Section data and
// symbol names are views into the file image, which lives (and stays at the
// same address) as long as the ElfFile, moves included.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "target/file_id.h"
#include "util/result.h"

struct Elf;  // libelf's descriptor

namespace hotalloc::target {

enum class Arch { x86_64, arm64 };

std::string_view arch_name(Arch arch);

struct Section {
  std::string name;
  uint64_t addr = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::span<const uint8_t> data;  // empty for SHT_NOBITS (.bss)
};

// A PT_LOAD program header.
struct Segment {
  uint64_t vaddr = 0;
  uint64_t offset = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
  uint32_t flags = 0;             // PF_R | PF_W | PF_X
  std::span<const uint8_t> data;  // the filesz bytes backed by the file
};

struct Symbol {
  uint64_t address = 0;
  uint64_t size = 0;
};

class ElfFile {
 public:
  // Maps the file read-only.
  static Result<ElfFile> open(const std::string& path);
  // Parses an image held in memory; `name` stands for the path in messages.
  static Result<ElfFile> from_memory(std::vector<uint8_t> bytes, std::string name);

  ElfFile(ElfFile&&) noexcept;
  ElfFile& operator=(ElfFile&&) noexcept;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile();

  const std::string& path() const { return path_; }
  Arch arch() const { return arch_; }
  bool pie() const { return pie_; }  // ET_DYN
  std::span<const uint8_t> image() const { return image_; }

  const Section* section(std::string_view name) const;
  std::span<const Section> sections() const { return sections_; }
  std::span<const Segment> segments() const { return segments_; }

  // The PT_LOAD segment whose file-backed part holds vaddr.
  const Segment* segment_at(uint64_t vaddr) const;
  // The file offset of a virtual address, through the PT_LOAD segment that
  // contains it in its file-backed part: vaddr - p_vaddr + p_offset. Uprobes
  // attach by this offset, for PIE and non-PIE binaries alike.
  Result<uint64_t> file_offset(uint64_t vaddr) const;
  // `len` bytes of the file image starting at a virtual address.
  Result<std::span<const uint8_t>> bytes_at(uint64_t vaddr, size_t len) const;

  // Defined symbols of .symtab by exact name (Go's ABI0 wrappers keep their
  // ".abi0" suffix there); the first definition wins.
  std::optional<Symbol> symbol(std::string_view name) const;
  std::optional<uint64_t> symbol_address(std::string_view name) const;
  bool has_symtab() const { return has_symtab_; }
  bool has_dwarf() const;

  // The GNU build-id note as lowercase hex, else the Go build id note's text,
  // else empty. Read at parse time: readers on other threads ask for it.
  const std::string& build_id() const { return build_id_; }

  // The file that was mapped (fstat of the descriptor read), nullopt for an
  // image in memory: what the file is known by, whatever its path is now.
  const std::optional<FileId>& file() const { return file_; }
  // The open file, or -1 for an image in memory or once released: for
  // readers that want a libelf descriptor of their own, whose allocations
  // (libdw's decompressed DWARF) end with it rather than with this ElfFile.
  int fd() const;
  // Whether release_file() was called: the file is closed and its DWARF no
  // longer read.
  bool released() const { return released_; }
  // Once parsed: closes the file (a binary stays loaded while it is
  // unused, and must not hold a descriptor meanwhile) and returns the
  // image's resident pages to the page cache. The mapping stays, read-only,
  // so nothing is lost: a page read again is faulted back in.
  void release_file();

  // libelf's descriptor, for readers built on it. Read-only use only: for a
  // mapped file, libelf's section headers point into the read-only image,
  // so anything that makes libelf write (elf_compress, gelf_update_*, libdw
  // decompressing DWARF: use begin_dwarf, dwarf_layout.h) would fault.
  // libelf is not thread-safe: callers must not use one ElfFile from
  // several threads through it at the same time.
  Elf* handle() const;

 private:
  struct Storage;

  ElfFile();
  static Result<ElfFile> parse(ElfFile file);
  Status read_elf();
  Status read_sections();
  Status read_segments();
  Status read_symbols(size_t symtab_index);
  std::string read_build_id() const;

  std::string path_;
  std::unique_ptr<Storage> storage_;  // the image's memory and libelf's descriptor
  std::span<const uint8_t> image_;
  std::optional<FileId> file_;
  std::string build_id_;
  bool released_ = false;

  Arch arch_ = Arch::x86_64;
  bool pie_ = false;
  bool has_symtab_ = false;
  std::vector<Section> sections_;
  std::vector<Segment> segments_;
  std::unordered_map<std::string_view, Symbol> symbols_;
};

}  // namespace hotalloc::target
