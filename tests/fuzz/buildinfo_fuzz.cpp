// Fuzzes the .go.buildinfo decoder and the Go version parser.
//
// Seed: the .go.buildinfo section of any Go binary, e.g.
//   objcopy -O binary --only-section=.go.buildinfo BINARY seeds/buildinfo
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "target/buildinfo.h"

using namespace hotalloc::target;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto info = parse_buildinfo(std::span(data, size));
  if (info) {
    (void)check_go_supported(info->go);
    (void)info->go.name();
  }
  auto version = GoVersion::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (version) {
    (void)check_go_supported(*version);
    (void)version->name();
  }
  return 0;
}
