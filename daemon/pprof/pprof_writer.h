// Encodes a heap profile in pprof's format (a perftools.profiles Profile
// protobuf; pprof files store it gzipped, util/gzip.h), with the sample types
// runtime/pprof's heap profile has: alloc_objects, alloc_space,
// inuse_objects, inuse_space.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heapprof/heap_profile.h"

namespace hotalloc::pprof {

struct ProfileMeta {
  int64_t time_nanos = 0;  // when the profile was taken
  std::vector<std::string> comments;
};

// The serialized, uncompressed Profile message.
std::string encode_profile(const heapprof::HeapProfile& profile, const ProfileMeta& meta);

}  // namespace hotalloc::pprof
