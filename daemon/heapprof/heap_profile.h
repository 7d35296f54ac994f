// A target's heap profile as pprof shows it, built from the runtime's own
// buckets of each of its processes the way runtime/pprof writes one
// (writeHeapProto): one sample per bucket, the leading runtime frames hidden,
// inlined calls folded into the location of the instruction they were
// inlined at, and counts unbiased by the sampling rate (scale_heap_sample).
// Pure: symbolization comes from each process's Symbolizer.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "heapprof/process_heap.h"

namespace hotalloc::heapprof {

// runtime/pprof's scaleHeapSample: a sampled allocation of average size s
// stands for 1 / (1 - exp(-s/rate)) allocations. A rate of 1 sampled
// everything and below 1 is unknown: both leave the counts as they are.
std::pair<int64_t, int64_t> scale_heap_sample(int64_t count, int64_t bytes, int64_t rate);

// The sample values, in the order of kSampleTypes.
enum SampleValue { kAllocObjects, kAllocSpace, kInuseObjects, kInuseSpace, kNumSampleValues };
struct SampleType {
  const char* type;
  const char* unit;
};
inline constexpr std::array<SampleType, kNumSampleValues> kSampleTypes{{
    {"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}}};

struct Mapping {
  uint64_t start = 0, limit = 0;  // runtime addresses of Go text
  uint64_t file_offset = 0;
  std::string file;
  std::string build_id;
};

struct Location {
  size_t mapping = 0;    // index in HeapProfile::mappings
  uint64_t address = 0;  // runtime return address
  Frames frames;         // innermost first; empty when the address is in no function
};

struct Sample {
  std::vector<size_t> locations;  // indices in HeapProfile::locations, leaf first
  std::array<int64_t, kNumSampleValues> values{};  // scaled
  std::array<uint64_t, kNumSampleValues> sampled{};  // as the runtime counted them
  int64_t object_size = 0;  // the "bytes" label pprof shows as the block size
};

struct HeapProfile {
  int64_t period = 0;  // the sampling rate (pprof's period, in bytes of "space")
  std::vector<Mapping> mappings;
  std::vector<Location> locations;
  std::vector<Sample> samples;
};

// The scaled sums of every sample of `processes`, without symbolizing: what
// the profile's samples add up to.
std::array<int64_t, kNumSampleValues> scaled_totals(std::span<const ProcessHeapPtr> processes);

// The profile of the processes given (all with a nonzero rate); their
// samples are listed one after the other, each scaled by its own process's
// rate. The period is the first process's rate.
HeapProfile build_heap_profile(std::span<const ProcessHeapPtr> processes);

// An allocation site: the location where the runtime's allocator was
// called from, with its inlined frames.
struct Site {
  Frames frames;  // innermost first: the allocating function, then the functions it was inlined into
  std::array<int64_t, kNumSampleValues> values{};
  std::array<uint64_t, kNumSampleValues> sampled{};
};

// Sites by `order` (kAllocSpace or kInuseSpace), then by the matching object
// count; sites with nothing in that order's value are left out. At most
// `limit` (0: all).
std::vector<Site> top_sites(const HeapProfile& profile, SampleValue order, size_t limit);

}  // namespace hotalloc::heapprof
