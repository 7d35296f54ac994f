// What hotalloc_build_info and `hotallocd --version` report.
#pragma once

#include <string>

namespace hotalloc::exporter {

struct BuildInfo {
  std::string version;
  std::string revision;
  std::string libbpf_version;
};

BuildInfo build_info();

}  // namespace hotalloc::exporter
