#include <gtest/gtest.h>

#include "model/snapshot.h"

namespace hotalloc::model {
namespace {

TEST(SizeClasses, TableMatchesRuntimeBounds) {
  EXPECT_EQ(kClassToSize[1], 8u);
  EXPECT_EQ(kClassToSize[3], 24u);
  EXPECT_EQ(kClassToSize[kNumSizeClasses - 1], kMaxSmallSize);
  for (int i = 2; i < kNumSizeClasses; i++) EXPECT_GT(kClassToSize[i], kClassToSize[i - 1]) << i;
  EXPECT_EQ(span_class_object_size(kTinySpanClass), 16u);
  EXPECT_TRUE(span_class_noscan(kTinySpanClass));
}

TEST(SizeClasses, RowsSumScanAndNoscan) {
  AllocCounts c;
  c.small_objects[6] = 100;  // 24 B scan
  c.small_objects[7] = 50;   // 24 B noscan
  c.refills[7] = 2;
  c.small_objects[2 * 67 + 1] = 3;  // 32 KiB noscan
  auto rows = size_class_rows(c);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].object_size, 24u);
  EXPECT_EQ(rows[0].objects, 150u);
  EXPECT_EQ(rows[0].noscan_objects, 50u);
  EXPECT_EQ(rows[0].bytes, 150u * 24);
  EXPECT_EQ(rows[0].refills, 2u);
  EXPECT_EQ(rows[1].object_size, 32768u);
  EXPECT_EQ(c.small_bytes_total(), 150u * 24 + 3u * 32768);
}

}  // namespace
}  // namespace hotalloc::model
