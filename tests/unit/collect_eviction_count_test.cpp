// EvictionCount: evictions from a kernel LRU table, counted from what the BPF
// side added, what a complete read holds and what the daemon deleted.
#include <gtest/gtest.h>

#include "collect/bpf_table.h"

namespace hotalloc::collect {
namespace {

TEST(EvictionCount, EntriesAddedAndEvictedBetweenTwoReadsAreCounted) {
  EvictionCount e;
  EXPECT_EQ(e.uncounted(10, 10), 0u);
  // 1,000 more added, and the table (holding 64) evicted all but those 64.
  EXPECT_EQ(e.uncounted(1010, 64), 946u);
  EXPECT_EQ(e.uncounted(1010, 64), 0u) << "counted once";
}

TEST(EvictionCount, DeletionsAndEvictionsSeenByTheReaderAreNotCountedAgain) {
  EvictionCount e;
  EXPECT_EQ(e.uncounted(100, 100), 0u);
  for (int i = 0; i < 20; i++) e.deleted();  // a process exited: its 20 entries freed
  e.counted(5);                              // 5 entries the reader saw vanish
  EXPECT_EQ(e.uncounted(110, 80), 5u) << "110 added = 80 held + 20 deleted + 5 seen + 5 more";
}

TEST(EvictionCount, AReadThatHoldsEntriesNotYetAddedNeverRunsAhead) {
  EvictionCount e;
  // `added` is read before the table: entries added during the read are held
  // but not in `added`. The count waits; it never goes back.
  EXPECT_EQ(e.uncounted(100, 104), 0u);
  EXPECT_EQ(e.uncounted(200, 150), 50u);
  EXPECT_EQ(e.uncounted(200, 160), 0u);
  EXPECT_EQ(e.uncounted(220, 150), 20u);
}

}  // namespace
}  // namespace hotalloc::collect
