#include <gtest/gtest.h>

#include "model/model.h"

namespace hotalloc::model {
namespace {

AllocCounts counts(uint64_t spc7, uint64_t large) {
  AllocCounts c;
  c.small_objects[7] = spc7;
  c.refills[7] = spc7 / 336;
  c.large_objects = large;
  c.large_bytes = large * 40960;
  return c;
}

const TargetView& only_target(const SnapshotPtr& s) { return s->targets.at(0); }

TEST(Model, TargetTotalsSumLiveProcesses) {
  Model m({});
  m.set_target({.id = 1, .name = "api", .state = TargetState::attached});
  m.process_started(1, 100, 11);
  m.process_started(1, 200, 22);
  m.process_counts(1, 100, counts(1000, 1));
  m.process_counts(1, 200, counts(500, 2));
  auto s = m.publish(1);
  EXPECT_EQ(only_target(s).alloc.small_objects[7], 1500u);
  EXPECT_EQ(only_target(s).alloc.large_objects, 3u);
  EXPECT_EQ(only_target(s).processes.size(), 2u);
  EXPECT_EQ(only_target(s).processes_seen, 2u);
}

TEST(Model, CountsStayMonotonicAcrossExit) {
  Model m({});
  m.set_target({.id = 1, .name = "api"});
  m.process_started(1, 100, 11);
  m.process_counts(1, 100, counts(1000, 1));
  m.process_exited(100);
  // A restarted process begins from zero in the kernel; the target does not.
  m.process_started(1, 101, 12);
  m.process_counts(1, 101, counts(10, 0));
  auto s = m.publish(2);
  EXPECT_EQ(only_target(s).alloc.small_objects[7], 1010u);
  EXPECT_EQ(only_target(s).processes.size(), 1u);
  EXPECT_EQ(only_target(s).processes_seen, 2u);
}

TEST(Model, ReusedPidRetiresTheOldProcess) {
  Model m({});
  m.set_target({.id = 1, .name = "api"});
  m.process_started(1, 100, 11);
  m.process_counts(1, 100, counts(700, 0));
  m.process_started(1, 100, 99);  // same pid, different start time
  m.process_counts(1, 100, counts(5, 0));
  auto s = m.publish(3);
  EXPECT_EQ(only_target(s).alloc.small_objects[7], 705u);
}

TEST(Model, ProcessCountedBeforeItWasIdentified) {
  Model m({});
  m.set_target({.id = 1, .name = "api"});
  m.process_counts(1, 300, counts(42, 0));
  EXPECT_TRUE(m.has_process(300));
  m.process_started(1, 300, 0);
  auto s = m.publish(4);
  EXPECT_EQ(only_target(s).alloc.small_objects[7], 42u);
}

TEST(Model, PublishBumpsGenerationAndCountsAttachedProbes) {
  Model m({});
  TargetInfo t{.id = 1, .name = "api", .state = TargetState::attached};
  t.probes.push_back({.probe = "refill", .attached = true});
  t.probes.push_back({.probe = "alloc_large", .attached = false});
  m.set_target(t);
  m.set_tracer_health({{.probe = "refill", .hits = 5}, {.probe = "alloc_large"}}, {{"ringbuf_full", 0}}, {});
  auto a = m.publish(5);
  auto b = m.publish(6);
  EXPECT_EQ(b->generation, a->generation + 1);
  EXPECT_EQ(m.latest(), b);
  EXPECT_EQ(b->probes[0].attached, 1u);
  EXPECT_EQ(b->probes[1].attached, 0u);
  EXPECT_EQ(b->drops.at("ringbuf_full"), 0u);
}

}  // namespace
}  // namespace hotalloc::model
