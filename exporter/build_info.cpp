#include "exporter/build_info.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>

namespace hotalloc::exporter {

BuildInfo build_info() {
  return BuildInfo{HOTALLOC_VERSION, HOTALLOC_REVISION,
                   fmt::format("{}.{}", libbpf_major_version(), libbpf_minor_version())};
}

}  // namespace hotalloc::exporter
