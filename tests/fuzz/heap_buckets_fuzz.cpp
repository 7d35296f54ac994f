// Fuzzes the heap-profile bucket reader: a target's memory is untrusted
// input (a corrupt or hostile process can put anything in its bucket list).
// The input is an address space starting at 0x10000 whose first two words
// are runtime.MemProfileRate and runtime.mbuckets; byte 0 picks the Go
// version. Reads outside it fail, like unmapped memory.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "heapprof/bucket_reader.h"

using namespace hotalloc;

namespace {

constexpr uint64_t kBase = 0x10000;

class Image final : public heapprof::MemoryReader {
 public:
  explicit Image(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  Status read(std::span<const heapprof::Range> ranges) override {
    for (const auto& r : ranges) {
      if (r.address < kBase || r.address - kBase > bytes_.size() || bytes_.size() - (r.address - kBase) < r.into.size())
        return fail("unmapped");
      std::memcpy(r.into.data(), bytes_.data() + (r.address - kBase), r.into.size());
    }
    return {};
  }

 private:
  std::span<const uint8_t> bytes_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* kVersions[] = {"go1.19.8", "go1.23.5", "go1.26.11", "go1.27.4"};
  auto go = target::GoVersion::parse(kVersions[data[0] % 4]);
  heapprof::BucketReader reader(std::make_unique<Image>(std::span(data + 1, size - 1)), kBase + 8, kBase, *go);
  (void)reader.read();
  (void)reader.read();  // the second read starts from what the first learned
  return 0;
}
