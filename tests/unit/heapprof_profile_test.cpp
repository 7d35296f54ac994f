// Heap profiles built from the runtime's buckets as runtime/pprof builds
// them (scaling, inline folding, the allocator's frames hidden), encoded for
// pprof and read back by `go tool pprof`; symbolized from a real stripped
// binary.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "heapprof/heap_profile.h"
#include "heapprof/profile_state.h"
#include "pprof/pprof_writer.h"
#include "pprof/profile.pb.h"
#include "target_test_support.h"
#include "util/gzip.h"

namespace hotalloc::heapprof {
namespace {

using target::SourceLine;

TEST(ScaleHeapSample, MatchesRuntimePprof) {
  // One 512 KiB sample at the default rate stands for 1/(1-e^-1) of them.
  double scale = 1 / (1 - std::exp(-1.0));
  auto [n, b] = scale_heap_sample(1, 524288, 524288);
  EXPECT_EQ(n, static_cast<int64_t>(scale));
  EXPECT_EQ(b, static_cast<int64_t>(524288 * scale));
  // Small objects are rare in a sample, so each stands for many.
  auto [n64, b64] = scale_heap_sample(10, 640, 524288);
  EXPECT_EQ(n64, static_cast<int64_t>(10 / (1 - std::exp(-64.0 / 524288))));
  EXPECT_EQ(b64, static_cast<int64_t>(640 / (1 - std::exp(-64.0 / 524288))));
  EXPECT_EQ(scale_heap_sample(3, 96, 1), (std::pair<int64_t, int64_t>{3, 96}));  // everything sampled
  EXPECT_EQ(scale_heap_sample(3, 96, 0), (std::pair<int64_t, int64_t>{3, 96}));  // rate unknown
  EXPECT_EQ(scale_heap_sample(0, 0, 512), (std::pair<int64_t, int64_t>{0, 0}));
}

// Real addresses in the heapsites program: a call inside newNode, which the
// compiler inlined into buildList, and the pseudo-address the runtime
// records for that inlined call.
struct InlinedCall {
  uint64_t in_callee = 0;  // frames [main.newNode, main.buildList]
  uint64_t call_site = 0;  // frames [main.buildList] at the line of the inlined call
};

std::vector<std::string> names(const Frames& f) {
  std::vector<std::string> out;
  for (const auto& s : f) out.push_back(s.function);
  return out;
}

InlinedCall find_inlined_call(const target::PcLnTab& tab) {
  InlinedCall c;
  const target::Function* f = tab.find("main.buildList");
  if (!f) return c;
  Frames chain;
  for (uint64_t pc = f->entry; pc < f->end && !c.in_callee; pc++) {
    chain = tab.frames_for_pc(pc);
    if (names(chain) == std::vector<std::string>{"main.newNode", "main.buildList"}) c.in_callee = pc;
  }
  for (uint64_t pc = f->entry; pc < f->end && !c.call_site && c.in_callee; pc++) {
    Frames at = tab.frames_for_pc(pc);
    if (at.size() == 1 && at[0].function == chain[1].function && at[0].line == chain[1].line) c.call_site = pc;
  }
  return c;
}

class HeapProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto built = hotalloc::testing::go_target("heapsites", "1.26", "stripped");
    HOTALLOC_REQUIRE(built.has_value(), built ? "" : built.error().message);
    auto bin = target::GoBinary::open(*built);
    ASSERT_TRUE(bin) << bin.error().message;
    binary_ = *bin;
    symbols_ = std::make_shared<Symbolizer>(binary_);
    call_ = find_inlined_call(binary_->pclntab());
    ASSERT_TRUE(call_.in_callee && call_.call_site) << "newNode is not inlined into buildList";
  }

  uint64_t inside(const char* function, uint64_t offset = 16) {
    const target::Function* f = binary_->pclntab().find(function);
    return f ? f->entry + offset : 0;
  }

  ProcessHeapPtr process(std::vector<BucketRecord> records, int64_t rate = 524288) {
    auto p = std::make_shared<ProcessHeap>();
    p->pid = 42;
    p->exe = binary_->elf().path();
    p->rate = rate;
    p->symbols = symbols_;
    p->text_start = binary_->pclntab().text_start();
    p->text_end = binary_->pclntab().functions().back().end;
    p->records = std::move(records);
    return p;
  }

  // A record as the runtime stores it: return addresses (call + 1), the
  // allocator's own frames first, the inlined call's pseudo-address too.
  BucketRecord new_node_record(uint64_t allocs, uint64_t frees) {
    BucketRecord r;
    r.stack = std::make_shared<const std::vector<uint64_t>>(std::vector<uint64_t>{
        inside("runtime.mallocgc") + 1, inside("runtime.newobject") + 1, call_.in_callee + 1, call_.call_site + 1,
        inside("main.main") + 1});
    r.object_size = 64;
    r.alloc_objects = allocs;
    r.alloc_bytes = allocs * 64;
    r.free_objects = frees;
    r.free_bytes = frees * 64;
    return r;
  }

  BucketRecord chunk_record(uint64_t allocs) {
    BucketRecord r;
    r.stack = std::make_shared<const std::vector<uint64_t>>(
        std::vector<uint64_t>{inside("runtime.makeslice") + 1, inside("main.allocChunks", 32) + 1});
    r.object_size = 4096;
    r.alloc_objects = allocs;
    r.alloc_bytes = allocs * 4096;
    return r;
  }

  std::shared_ptr<const target::GoBinary> binary_;
  std::shared_ptr<Symbolizer> symbols_;
  InlinedCall call_;
};

TEST_F(HeapProfileTest, FoldsInlinedCallsAndHidesTheAllocator) {
  std::vector<ProcessHeapPtr> ps{process({new_node_record(100, 40)})};
  HeapProfile p = build_heap_profile(ps);
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.period, 524288);
  const Sample& s = p.samples[0];
  // mallocgc and newobject hidden; the pseudo-address folded into its call.
  ASSERT_EQ(s.locations.size(), 2u);
  EXPECT_EQ(names(p.locations[s.locations[0]].frames), (std::vector<std::string>{"main.newNode", "main.buildList"}));
  EXPECT_EQ(p.locations[s.locations[0]].address, call_.in_callee + 1);
  EXPECT_EQ(p.locations[s.locations[1]].frames.back().function, "main.main");
  EXPECT_NE(p.locations[s.locations[0]].frames[0].file.find("main.go"), std::string::npos);

  auto [objects, bytes] = scale_heap_sample(100, 6400, 524288);
  EXPECT_EQ(s.values[kAllocObjects], objects);
  EXPECT_EQ(s.values[kAllocSpace], bytes);
  auto [live_objects, live_bytes] = scale_heap_sample(60, 3840, 524288);
  EXPECT_EQ(s.values[kInuseObjects], live_objects);
  EXPECT_EQ(s.values[kInuseSpace], live_bytes);
  EXPECT_EQ(s.sampled[kInuseObjects], 60u);
  EXPECT_EQ(s.object_size, 64);
}

TEST_F(HeapProfileTest, SitesByAllocatedOrLiveBytes) {
  std::vector<ProcessHeapPtr> ps{process({new_node_record(100, 100), chunk_record(3), new_node_record(10, 9)})};
  HeapProfile p = build_heap_profile(ps);

  auto by_alloc = top_sites(p, kAllocSpace, 0);
  ASSERT_EQ(by_alloc.size(), 2u);
  // 110 sampled 64-byte nodes stand for ~900k of them (57 MB); 3 chunks for ~300.
  EXPECT_EQ(by_alloc[0].frames[0].function, "main.newNode");
  EXPECT_EQ(by_alloc[0].frames[1].function, "main.buildList");
  EXPECT_EQ(by_alloc[0].sampled[kAllocObjects], 110u);
  EXPECT_EQ(by_alloc[1].frames[0].function, "main.allocChunks");

  // Every chunk is live (3 samples of 4 KiB, ~1.6 MB unbiased), one node
  // (one sample of 64 B, ~0.5 MB).
  auto by_live = top_sites(p, kInuseSpace, 0);
  ASSERT_EQ(by_live.size(), 2u);
  EXPECT_EQ(by_live[0].frames[0].function, "main.allocChunks");
  EXPECT_EQ(by_live[1].sampled[kInuseObjects], 1u);
  EXPECT_EQ(top_sites(p, kInuseSpace, 1).size(), 1u);
}

TEST_F(HeapProfileTest, PprofReadsTheEncodedProfile) {
  std::vector<ProcessHeapPtr> ps{process({new_node_record(100, 40), chunk_record(3)})};
  HeapProfile p = build_heap_profile(ps);
  std::string raw = pprof::encode_profile(p, {1700000000000000000, {"a comment"}});

  perftools::profiles::Profile decoded;
  ASSERT_TRUE(decoded.ParseFromString(raw));
  auto str = [&](int64_t i) { return decoded.string_table(static_cast<int>(i)); };
  ASSERT_EQ(decoded.sample_type_size(), 4);
  EXPECT_EQ(str(decoded.sample_type(1).type()), "alloc_space");
  EXPECT_EQ(str(decoded.sample_type(3).type()), "inuse_space");
  EXPECT_EQ(str(decoded.period_type().type()), "space");
  EXPECT_EQ(decoded.period(), 524288);
  EXPECT_EQ(decoded.string_table(0), "");
  ASSERT_EQ(decoded.sample_size(), 2);
  EXPECT_EQ(decoded.sample(0).value(1), p.samples[0].values[kAllocSpace]);
  EXPECT_EQ(str(decoded.sample(0).label(0).key()), "bytes");
  EXPECT_EQ(decoded.sample(0).label(0).num(), 64);
  const auto& leaf = decoded.location(static_cast<int>(decoded.sample(0).location_id(0) - 1));
  ASSERT_EQ(leaf.line_size(), 2);
  EXPECT_EQ(str(decoded.function(static_cast<int>(leaf.line(0).function_id() - 1)).name()), "main.newNode");
  EXPECT_TRUE(decoded.mapping(0).has_inline_frames());

  auto gz = gzip(raw);
  ASSERT_TRUE(gz) << gz.error().message;
  ASSERT_GE(gz->size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>((*gz)[0]), 0x1f);
  EXPECT_EQ(static_cast<uint8_t>((*gz)[1]), 0x8b);

  // `go tool pprof` itself reads it, with the inlined function on its own.
  auto go = hotalloc::testing::go_tool("1.26");
  HOTALLOC_REQUIRE(go.has_value(), go ? "" : go.error().message);
  target::testing::TempDir dir;
  std::string file = dir.path() + "/heap.pb.gz";
  std::ofstream(file, std::ios::binary) << *gz;
  auto top = hotalloc::testing::run_capture("HOME=" + dir.path() + " " + *go +
                                            " pprof -top -sample_index=alloc_space -unit=B '" + file + "' 2>&1");
  ASSERT_TRUE(top) << top.error().message;
  EXPECT_NE(top->find("main.newNode"), std::string::npos) << *top;
  EXPECT_NE(top->find("main.allocChunks"), std::string::npos) << *top;
  EXPECT_NE(top->find(std::to_string(p.samples[0].values[kAllocSpace]) + "B"), std::string::npos) << *top;
}

TEST(ProfileState, SaysWhyThereIsNothingToShow) {
  auto off = std::make_shared<ProcessHeap>();
  off->pid = 7;
  off->linked = false;
  off->reader_function = "runtime.memProfileInternal";
  std::vector<ProcessHeapPtr> ps{off};
  ProfileState s = profile_state(ps);
  EXPECT_EQ(s.rate, 0);
  EXPECT_TRUE(s.sampling.empty());
  EXPECT_NE(s.message.find("never references runtime.memProfileInternal"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("never writes to a target"), std::string::npos) << s.message;

  auto zero = std::make_shared<ProcessHeap>();
  zero->pid = 8;
  auto on = std::make_shared<ProcessHeap>();
  on->pid = 9;
  on->rate = 4096;
  ps = {on, zero};
  s = profile_state(ps);
  EXPECT_EQ(s.rate, 0);  // the lowest: one process samples nothing
  ASSERT_EQ(s.sampling.size(), 1u);
  EXPECT_NE(s.message.find("pid 8: heap profiling is off: the program set runtime.MemProfileRate to 0"),
            std::string::npos)
      << s.message;

  EXPECT_NE(profile_state({}).message.find("no live process"), std::string::npos);
}

}  // namespace
}  // namespace hotalloc::heapprof
