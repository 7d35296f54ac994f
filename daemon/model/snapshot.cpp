#include "model/snapshot.h"

namespace hotalloc::model {

AllocCounts& AllocCounts::operator+=(const AllocCounts& o) {
  for (int i = 0; i < kNumSpanClasses; i++) {
    small_objects[i] += o.small_objects[i];
    refills[i] += o.refills[i];
  }
  large_objects += o.large_objects;
  large_bytes += o.large_bytes;
  tiny_objects += o.tiny_objects;
  flushes += o.flushes;
  gc_cycles += o.gc_cycles;
  return *this;
}

uint64_t AllocCounts::small_objects_total() const {
  uint64_t n = 0;
  for (uint64_t v : small_objects) n += v;
  return n;
}

uint64_t AllocCounts::small_bytes_total() const {
  uint64_t n = 0;
  for (int spc = 0; spc < kNumSpanClasses; spc++) n += small_objects[spc] * span_class_object_size(spc);
  return n;
}

std::vector<SizeClassRow> size_class_rows(const AllocCounts& c) {
  std::vector<SizeClassRow> rows;
  for (int sc = 1; sc < kNumSizeClasses; sc++) {
    SizeClassRow r;
    r.size_class = sc;
    r.object_size = kClassToSize[sc];
    r.noscan_objects = c.small_objects[sc * 2 + 1];
    r.objects = c.small_objects[sc * 2] + r.noscan_objects;
    r.refills = c.refills[sc * 2] + c.refills[sc * 2 + 1];
    r.bytes = r.objects * r.object_size;
    if (r.objects || r.refills) rows.push_back(r);
  }
  return rows;
}

const char* to_string(TargetState s) {
  switch (s) {
    case TargetState::attaching: return "attaching";
    case TargetState::attached: return "attached";
    case TargetState::failed: return "failed";
    case TargetState::exited: return "exited";
    case TargetState::detached: return "detached";
  }
  return "unknown";
}

}  // namespace hotalloc::model
