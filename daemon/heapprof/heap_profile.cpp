#include "heapprof/heap_profile.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace hotalloc::heapprof {
namespace {

bool same_frame(const target::SourceLine& a, const target::SourceLine& b) {
  return a.function == b.function && a.line == b.line && a.file == b.file;
}

// True when `frames` are the frames of `chain` from `from` on: the
// runtime's pseudo-address for an inlined call, whose location is
// already listed.
bool continues(const Frames& frames, const Frames& chain, size_t from) {
  if (from >= chain.size() || frames.size() != chain.size() - from) return false;
  return std::equal(frames.begin(), frames.end(), chain.begin() + static_cast<ptrdiff_t>(from), same_frame);
}

bool is_runtime(const Frames& frames) {
  return !frames.empty() && frames.front().function.starts_with("runtime.");
}

struct Physical {
  uint64_t address;
  std::shared_ptr<const Frames> frames;
};

// One location per real return address: the pseudo-addresses the runtime
// records for each inlined call (their call's address plus one) fold into
// the location whose frames they continue. Then, as runtime/pprof does, the
// runtime's own frames at the top (the allocator) are hidden, unless
// nothing else is left.
std::vector<Physical> locations_of(const ProcessHeap& p, const std::vector<uint64_t>& stack) {
  std::vector<Physical> out;
  size_t covered = 0;  // frames of out.back() its pseudo-addresses have matched
  for (uint64_t pc : stack) {
    auto frames = p.symbols->frames_of_return(pc - p.load_bias);
    if (!out.empty() && continues(*frames, *out.back().frames, covered + 1)) {
      covered++;
      continue;
    }
    out.push_back({pc, std::move(frames)});
    covered = 0;
  }
  auto first_own = std::ranges::find_if(out, [](const Physical& l) { return !is_runtime(*l.frames); });
  if (first_own != out.end()) out.erase(out.begin(), first_own);
  return out;
}

std::string site_key(const Frames& frames) {
  std::string key;
  for (const auto& f : frames) key += f.function + '\0' + f.file + '\0' + std::to_string(f.line) + '\n';
  return key;
}

std::string function_of(const Site& s) { return s.frames.empty() ? std::string() : s.frames.front().function; }

}  // namespace

std::pair<int64_t, int64_t> scale_heap_sample(int64_t count, int64_t bytes, int64_t rate) {
  if (count == 0 || bytes == 0) return {0, 0};
  if (rate <= 1) return {count, bytes};
  double average = static_cast<double>(bytes) / static_cast<double>(count);
  double scale = 1 / (1 - std::exp(-average / static_cast<double>(rate)));
  return {static_cast<int64_t>(static_cast<double>(count) * scale),
          static_cast<int64_t>(static_cast<double>(bytes) * scale)};
}

// The four values of one record, scaled with its process's rate.
std::array<int64_t, kNumSampleValues> scaled(const BucketRecord& r, int64_t rate) {
  std::array<int64_t, kNumSampleValues> v{};
  std::tie(v[kAllocObjects], v[kAllocSpace]) =
      scale_heap_sample(static_cast<int64_t>(r.alloc_objects), static_cast<int64_t>(r.alloc_bytes), rate);
  std::tie(v[kInuseObjects], v[kInuseSpace]) =
      scale_heap_sample(static_cast<int64_t>(r.alloc_objects - r.free_objects),
                        static_cast<int64_t>(r.alloc_bytes - r.free_bytes), rate);
  return v;
}

std::array<int64_t, kNumSampleValues> scaled_totals(std::span<const ProcessHeapPtr> processes) {
  std::array<int64_t, kNumSampleValues> total{};
  for (const ProcessHeapPtr& p : processes)
    for (const BucketRecord& r : p->records) {
      auto v = scaled(r, p->rate);
      for (int i = 0; i < kNumSampleValues; i++) total[i] += v[i];
    }
  return total;
}

HeapProfile build_heap_profile(std::span<const ProcessHeapPtr> processes) {
  HeapProfile out;
  std::map<std::tuple<std::string, uint64_t>, size_t> mapping_of;  // (exe, load bias)
  std::map<std::pair<size_t, uint64_t>, size_t> location_of;       // (mapping, address)
  for (const ProcessHeapPtr& p : processes) {
    if (out.period == 0) out.period = p->rate;
    auto [m, added] = mapping_of.try_emplace({p->exe, p->load_bias}, out.mappings.size());
    if (added) {
      const target::GoBinary& bin = p->symbols->binary();
      Mapping mapping;
      mapping.start = p->text_start + p->load_bias;
      mapping.limit = p->text_end + p->load_bias;
      mapping.file_offset = bin.elf().file_offset(p->text_start).value_or(0);
      mapping.file = p->exe;
      mapping.build_id = bin.elf().build_id();
      out.mappings.push_back(std::move(mapping));
    }
    for (const BucketRecord& r : p->records) {
      Sample s;
      for (const Physical& l : locations_of(*p, *r.stack)) {
        auto [loc, fresh] = location_of.try_emplace({m->second, l.address}, out.locations.size());
        if (fresh) out.locations.push_back({m->second, l.address, *l.frames});
        s.locations.push_back(loc->second);
      }
      s.sampled = {r.alloc_objects, r.alloc_bytes, r.alloc_objects - r.free_objects, r.alloc_bytes - r.free_bytes};
      s.values = scaled(r, p->rate);
      s.object_size = r.alloc_objects ? static_cast<int64_t>(r.alloc_bytes / r.alloc_objects) : 0;
      out.samples.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<Site> top_sites(const HeapProfile& profile, SampleValue order, size_t limit) {
  std::map<std::string, Site> by_key;
  for (const Sample& s : profile.samples) {
    if (s.locations.empty()) continue;
    const Frames& frames = profile.locations[s.locations.front()].frames;
    Site& site = by_key[site_key(frames)];
    if (site.frames.empty()) site.frames = frames;
    for (int v = 0; v < kNumSampleValues; v++) {
      site.values[v] += s.values[v];
      site.sampled[v] += s.sampled[v];
    }
  }
  const int objects = order == kInuseSpace ? kInuseObjects : kAllocObjects;
  std::vector<Site> sites;
  for (auto& [key, site] : by_key)
    if (site.values[order] > 0) sites.push_back(std::move(site));
  std::ranges::sort(sites, [&](const Site& a, const Site& b) {
    if (a.values[order] != b.values[order]) return a.values[order] > b.values[order];
    if (a.values[objects] != b.values[objects]) return a.values[objects] > b.values[objects];
    return function_of(a) < function_of(b);
  });
  if (limit && sites.size() > limit) sites.resize(limit);
  return sites;
}

}  // namespace hotalloc::heapprof
