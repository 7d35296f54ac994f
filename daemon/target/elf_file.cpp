#include "target/elf_file.h"

#include <fcntl.h>
#include <gelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "target/byte_reader.h"

namespace hotalloc::target {

namespace {

constexpr uint32_t kNoteGnuBuildId = 3;  // NT_GNU_BUILD_ID
constexpr uint32_t kNoteGoBuildId = 4;   // the Go linker's ELF_NOTE_GOBUILDID_TAG

bool libelf_ready() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  return ready;
}

std::string libelf_error() { return elf_errmsg(-1) ? elf_errmsg(-1) : "unknown libelf error"; }

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace

std::string_view arch_name(Arch arch) {
  switch (arch) {
    case Arch::x86_64:
      return "x86-64";
    case Arch::arm64:
      return "arm64";
  }
  return "unknown";
}

// The file's bytes (a private mapping or an owned buffer) and libelf's
// descriptor over them, released together, descriptor first, however the
// ElfFile is moved.
struct ElfFile::Storage {
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (elf) elf_end(elf);
    if (map) munmap(map, map_len);
    if (fd >= 0) ::close(fd);
  }

  std::vector<uint8_t> owned;
  void* map = nullptr;
  size_t map_len = 0;
  int fd = -1;  // the mapped file, kept open for readers with their own descriptor
  Elf* elf = nullptr;
};

ElfFile::ElfFile() : storage_(std::make_unique<Storage>()) {}
ElfFile::ElfFile(ElfFile&&) noexcept = default;
ElfFile& ElfFile::operator=(ElfFile&&) noexcept = default;
ElfFile::~ElfFile() = default;

Elf* ElfFile::handle() const { return storage_->elf; }

int ElfFile::fd() const { return storage_->fd; }

void ElfFile::release_file() {
  released_ = true;
  if (storage_->fd >= 0) ::close(std::exchange(storage_->fd, -1));
  if (storage_->map) madvise(storage_->map, storage_->map_len, MADV_DONTNEED);
}

Result<ElfFile> ElfFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, path);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail_errno(err, path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("{}: not a regular file", path);
  }
  ElfFile file;
  file.path_ = path;
  file.file_ = FileId{st.st_dev, st.st_ino};
  file.storage_->fd = fd;
  if (st.st_size > 0) {
    // Read-only: nothing writes the image (libdw decompresses sections
    // through a descriptor of its own, see fd()), so every page stays clean
    // and release_file can always drop them.
    void* addr = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      return fail_errno(err, "mmap " + path);  // the descriptor goes with `file`
    }
    file.storage_->map = addr;
    file.storage_->map_len = static_cast<size_t>(st.st_size);
    file.image_ = {static_cast<const uint8_t*>(addr), static_cast<size_t>(st.st_size)};
  }
  return parse(std::move(file));
}

Result<ElfFile> ElfFile::from_memory(std::vector<uint8_t> bytes, std::string name) {
  ElfFile file;
  file.path_ = std::move(name);
  file.storage_->owned = std::move(bytes);
  file.image_ = file.storage_->owned;
  return parse(std::move(file));
}

Result<ElfFile> ElfFile::parse(ElfFile file) {
  auto parsed = file.read_elf();
  if (!parsed) return fail(parsed.error().context(file.path_));
  return file;
}

Status ElfFile::read_elf() {
  if (image_.size() < EI_NIDENT || std::memcmp(image_.data(), ELFMAG, SELFMAG) != 0) return fail("not an ELF file");
  if (image_[EI_CLASS] != ELFCLASS64) return fail("not a 64-bit ELF file");
  if (image_[EI_DATA] != ELFDATA2LSB) return fail("not a little-endian ELF file");
  if (image_.size() < sizeof(Elf64_Ehdr)) return fail("truncated ELF: file ends inside the ELF header");
  // The header tables are checked before libelf reads them, so that a cut
  // file is reported as such rather than as whatever libelf makes of it.
  Elf64_Ehdr eh;
  std::memcpy(&eh, image_.data(), sizeof eh);
  if (eh.e_phnum != 0 && !in_bounds(eh.e_phoff, uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr), image_.size()))
    return fail("truncated ELF: program header table extends past end of file");
  // With more than 0xff00 sections e_shnum is 0 and section 0 holds the count.
  if (eh.e_shoff != 0 &&
      !in_bounds(eh.e_shoff, uint64_t(std::max<uint16_t>(eh.e_shnum, 1)) * sizeof(Elf64_Shdr), image_.size()))
    return fail("truncated ELF: section header table extends past end of file");
  if (!libelf_ready()) return fail("libelf initialisation failed: {}", libelf_error());

  // libelf takes a char*, and points its section headers into the image:
  // it writes there only to modify the file or to decompress a section in
  // place, which nothing does through this descriptor (see handle()).
  auto* raw = const_cast<char*>(reinterpret_cast<const char*>(image_.data()));
  storage_->elf = elf_memory(raw, image_.size());
  if (!storage_->elf || elf_kind(storage_->elf) != ELF_K_ELF) return fail("corrupt ELF file: {}", libelf_error());

  switch (eh.e_machine) {
    case EM_X86_64:
      arch_ = Arch::x86_64;
      break;
    case EM_AARCH64:
      arch_ = Arch::arm64;
      break;
    default:
      return fail("unsupported architecture (ELF machine {}); only x86-64 and arm64 are supported", eh.e_machine);
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return fail("not an executable (ELF type {})", eh.e_type);
  pie_ = eh.e_type == ET_DYN;

  if (auto ok = read_segments(); !ok) return ok;
  if (auto ok = read_sections(); !ok) return ok;
  build_id_ = read_build_id();
  return {};
}

Status ElfFile::read_segments() {
  size_t count = 0;
  if (elf_getphdrnum(handle(), &count) != 0) return fail("corrupt ELF program headers: {}", libelf_error());
  GElf_Ehdr ehdr;
  if (count > 0 &&
      (!gelf_getehdr(handle(), &ehdr) || !in_bounds(ehdr.e_phoff, uint64_t(count) * sizeof(Elf64_Phdr), image_.size())))
    return fail("truncated ELF: program header table extends past end of file");
  for (size_t i = 0; i < count; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(handle(), static_cast<int>(i), &ph)) return fail("corrupt ELF program header {}", i);
    if (ph.p_type != PT_LOAD) continue;
    if (!in_bounds(ph.p_offset, ph.p_filesz, image_.size()))
      return fail("truncated ELF: segment {} extends past end of file", i);
    segments_.push_back(Segment{ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_flags,
                                image_.subspan(ph.p_offset, ph.p_filesz)});
  }
  return {};
}

Status ElfFile::read_sections() {
  size_t count = 0, names = 0;
  if (elf_getshdrnum(handle(), &count) != 0) return fail("corrupt ELF section headers: {}", libelf_error());
  if (count == 0) return {};
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(handle(), &ehdr) || !in_bounds(ehdr.e_shoff, uint64_t(count) * sizeof(Elf64_Shdr), image_.size()))
    return fail("truncated ELF: section header table extends past end of file");
  if (elf_getshdrstrndx(handle(), &names) != 0) return fail("corrupt ELF section names: {}", libelf_error());
  GElf_Shdr names_header;
  if (Elf_Scn* scn = elf_getscn(handle(), names); !scn || !gelf_getshdr(scn, &names_header))
    return fail("corrupt ELF section names: no section {}", names);
  if (!in_bounds(names_header.sh_offset, names_header.sh_size, image_.size()))
    return fail("truncated ELF: section name table extends past end of file");

  std::optional<size_t> symtab;
  for (Elf_Scn* scn = elf_nextscn(handle(), nullptr); scn; scn = elf_nextscn(handle(), scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) return fail("corrupt ELF section header {}", elf_ndxscn(scn));
    const char* name = elf_strptr(handle(), names, sh.sh_name);
    Section s{name ? name : "", sh.sh_addr, sh.sh_offset, sh.sh_size, {}};
    if (sh.sh_type != SHT_NOBITS) {
      if (!in_bounds(sh.sh_offset, sh.sh_size, image_.size()))
        return fail("truncated ELF: section {} extends past end of file",
                    s.name.empty() ? fmt::format("#{}", elf_ndxscn(scn)) : s.name);
      s.data = image_.subspan(sh.sh_offset, sh.sh_size);
    }
    if (sh.sh_type == SHT_SYMTAB && !symtab) symtab = elf_ndxscn(scn);
    sections_.push_back(std::move(s));
  }
  if (symtab) return read_symbols(*symtab);
  return {};
}

Status ElfFile::read_symbols(size_t symtab_index) {
  Elf_Scn* scn = elf_getscn(handle(), symtab_index);
  GElf_Shdr sh;
  if (!scn || !gelf_getshdr(scn, &sh)) return fail("corrupt ELF symbol table");
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data) return fail("corrupt ELF symbol table: {}", libelf_error());
  size_t count = data->d_size / sizeof(Elf64_Sym);
  has_symtab_ = true;
  symbols_.reserve(count);
  for (size_t i = 0; i < count; i++) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
    if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0) continue;
    const char* name = elf_strptr(handle(), sh.sh_link, sym.st_name);
    if (!name) continue;
    symbols_.try_emplace(std::string_view(name), Symbol{sym.st_value, sym.st_size});
  }
  return {};
}

const Section* ElfFile::section(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

const Segment* ElfFile::segment_at(uint64_t vaddr) const {
  for (const auto& seg : segments_)
    if (vaddr >= seg.vaddr && vaddr - seg.vaddr < seg.filesz) return &seg;
  return nullptr;
}

Result<uint64_t> ElfFile::file_offset(uint64_t vaddr) const {
  const Segment* seg = segment_at(vaddr);
  if (!seg) return fail("address {:#x} is not in the file-backed part of any loadable segment", vaddr);
  return vaddr - seg->vaddr + seg->offset;
}

Result<std::span<const uint8_t>> ElfFile::bytes_at(uint64_t vaddr, size_t len) const {
  const Segment* seg = segment_at(vaddr);
  if (!seg) return fail("address {:#x} is not in the file-backed part of any loadable segment", vaddr);
  uint64_t rel = vaddr - seg->vaddr;
  if (!in_bounds(rel, len, seg->filesz))
    return fail("{} bytes at {:#x} extend past the end of their segment", len, vaddr);
  return seg->data.subspan(rel, len);
}

std::optional<Symbol> ElfFile::symbol(std::string_view name) const {
  auto it = symbols_.find(name);
  if (it == symbols_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> ElfFile::symbol_address(std::string_view name) const {
  if (auto s = symbol(name)) return s->address;
  return std::nullopt;
}

bool ElfFile::has_dwarf() const { return section(".debug_info") || section(".zdebug_info"); }

std::string ElfFile::read_build_id() const {
  std::string go_id;
  for (Elf_Scn* scn = elf_nextscn(handle(), nullptr); scn; scn = elf_nextscn(handle(), scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    GElf_Nhdr nh;
    size_t off = 0, name_off = 0, desc_off = 0;
    while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
      auto* base = static_cast<const uint8_t*>(data->d_buf);
      std::string_view owner(reinterpret_cast<const char*>(base + name_off), nh.n_namesz);
      std::span<const uint8_t> desc(base + desc_off, nh.n_descsz);
      if (nh.n_type == kNoteGnuBuildId && owner == std::string_view("GNU\0", 4)) return to_hex(desc);
      if (nh.n_type == kNoteGoBuildId && owner == std::string_view("Go\0\0", 4) && go_id.empty())
        go_id.assign(desc.begin(), desc.end());
    }
  }
  return go_id;
}

}  // namespace hotalloc::target
