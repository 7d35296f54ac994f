// Finding runtime.mbuckets and runtime.MemProfileRate in stripped binaries
// by decoding two runtime functions, checked against .symtab of the same
// program built unstripped, for every Go version in the cache.
#include <gtest/gtest.h>

#include "heapprof/runtime_globals.h"
#include "support/go_matrix.h"
#include "target_test_support.h"

namespace hotalloc::heapprof {
namespace {

using target::testing::all_go_versions;

class RuntimeGlobalsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RuntimeGlobalsTest, DecodedAddressesMatchSymtab) {
  TARGET_BINARY(plain, "heapsites", GetParam(), "default");
  TARGET_BINARY(stripped, "heapsites", GetParam(), "stripped");
  auto with_symbols = target::GoBinary::open(plain);
  auto without = target::GoBinary::open(stripped);
  ASSERT_TRUE(with_symbols && without);
  ASSERT_TRUE((*without)->stripped());

  auto want = find_runtime_globals(**with_symbols);
  ASSERT_TRUE(want) << want.error().message;
  EXPECT_TRUE(want->from_symtab);
  auto got = find_runtime_globals(**without);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_FALSE(got->from_symtab);
  // -s -w drops only symbols and DWARF: the two builds lay out code and data alike.
  EXPECT_EQ(got->mbuckets, want->mbuckets) << std::hex << got->mbuckets << " vs " << want->mbuckets;
  EXPECT_EQ(got->mem_profile_rate, want->mem_profile_rate);
}

TEST_P(RuntimeGlobalsTest, ProfilingLinkedOnlyWhenTheProgramCanReadIt) {
  TARGET_BINARY(pprof_user, "heapsites", GetParam(), "stripped");
  TARGET_BINARY(no_pprof, "sizes", GetParam(), "stripped");
  auto with = target::GoBinary::open(pprof_user);
  auto without = target::GoBinary::open(no_pprof);
  ASSERT_TRUE(with && without);
  EXPECT_TRUE(heap_profiling_linked(**with));
  EXPECT_FALSE(heap_profiling_linked(**without)) << heap_profile_reader_function(**without);
  EXPECT_EQ(heap_profile_reader_function(**with),
            GetParam() >= "1.23" ? "runtime.memProfileInternal" : "runtime.MemProfile");
}

INSTANTIATE_TEST_SUITE_P(GoVersions, RuntimeGlobalsTest, ::testing::ValuesIn(all_go_versions()),
                         hotalloc::testing::go_version_name);

}  // namespace
}  // namespace hotalloc::heapprof
