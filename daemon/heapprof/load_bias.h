// Where a process mapped its executable: a PIE binary runs at a random base,
// so runtime addresses (the stacks in its heap profile, its package
// variables) are link-time addresses plus this bias. 0 for other binaries.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "target/elf_file.h"
#include "util/result.h"

namespace hotalloc::heapprof {

// From the text of /proc/PID/maps: the mapping of the file with inode
// `exe_ino` at file offset 0, against the segment the ELF loads from there.
Result<uint64_t> load_bias_from_maps(std::string_view maps, const target::ElfFile& elf, uint64_t exe_ino);

// Reads PROC_ROOT/PID/maps when the binary is PIE.
Result<uint64_t> load_bias(const std::string& proc_root, int pid, const target::ElfFile& elf, uint64_t exe_ino);

}  // namespace hotalloc::heapprof
