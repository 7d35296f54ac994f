// The Go build information the linker stores in every Go executable
// (.go.buildinfo; kept by -s -w): toolchain version, main package path and
// module list. `go version -m BINARY` prints the same.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "target/elf_file.h"
#include "target/go_version.h"
#include "util/result.h"

namespace hotalloc::target {

struct BuildInfo {
  GoVersion go;
  std::string main_path;  // "path" line of the module info, e.g. "github.com/prometheus/prometheus/cmd/prometheus"
  std::string mod_info;   // module info text ("path ...\nmod ...\ndep ...\nbuild ...\n"), empty if absent
};

// Finds the build info through the .go.buildinfo section, or, when section
// headers are missing, by its 16-byte-aligned magic in the writable segments.
Result<BuildInfo> read_buildinfo(const ElfFile& elf);

// Decodes a build info blob that starts at its magic.
Result<BuildInfo> parse_buildinfo(std::span<const uint8_t> blob);

}  // namespace hotalloc::target
