#include "heapprof/load_bias.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace hotalloc::heapprof {
namespace {

constexpr uint64_t kPageMask = 0xfff;

std::optional<uint64_t> hex(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<uint64_t> load_bias_from_maps(std::string_view maps, const target::ElfFile& elf, uint64_t exe_ino) {
  const target::Segment* first = nullptr;
  for (const auto& seg : elf.segments())
    if (seg.offset == 0) first = &seg;
  if (!first) return fail("{}: no segment loads from file offset 0", elf.path());

  std::istringstream in{std::string(maps)};
  std::string line;
  while (std::getline(in, line)) {
    // start-end perms offset dev inode [path]
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode;
    if (!(fields >> range >> perms >> offset >> dev >> inode)) continue;
    auto dash = range.find('-');
    auto start = dash == std::string::npos ? std::nullopt : hex(std::string_view(range).substr(0, dash));
    auto off = hex(offset);
    uint64_t ino = 0;
    auto [end, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), ino);
    if (!start || !off || ec != std::errc() || ino != exe_ino || *off != 0) continue;
    return *start - (first->vaddr & ~kPageMask);
  }
  return fail("{} is not mapped in the process", elf.path());
}

Result<uint64_t> load_bias(const std::string& proc_root, int pid, const target::ElfFile& elf, uint64_t exe_ino) {
  if (!elf.pie()) return 0;
  std::string path = proc_root + "/" + std::to_string(pid) + "/maps";
  std::ifstream f(path);
  if (!f) return fail("cannot read {}", path);
  std::stringstream text;
  text << f.rdbuf();
  return load_bias_from_maps(text.str(), elf, exe_ino);
}

}  // namespace hotalloc::heapprof
