// Advice and the live view against real Go programs (tests/targets/slicegrow),
// which report their own ground truth: the capacity changes of a slice
// appended to 100,000 times (each one a runtime.growslice call) and the bytes
// of its arrays, the same appends into a presized slice, a 100,000-entry map
// made without and with a hint, and for `top` the size and map site of a
// busy workload.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/env.h"
#include "support/go_matrix.h"
#include "support/traced_program.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class Advise : public TracedProgramPerVersion {
 protected:
  std::string program() const override { return "slicegrow"; }

  const json* advice_at(const json& advice, const std::string& site) {
    for (const json& a : advice.at("advice"))
      if (a.at("site") == site) return &a;
    return nullptr;
  }

  void TearDown() override {
    if (prog_) prog_->write_line("quit");
  }
};

TEST_P(Advise, SliceGrowthCountedAndPresizeAdvised) {
  start({"--map-inserts=on"});
  if (HasFatalFailure() || IsSkipped()) return;
  json truth = command("append 100000");
  const json& no_cap = truth.at("no_cap");
  const json& presized = truth.at("presized");
  ASSERT_GT(no_cap.at("growths").get<int>(), 10);
  ASSERT_EQ(presized.at("growths"), 0);

  auto r = daemon_->call("slices", {{"target", target_}});
  ASSERT_TRUE(r) << r.error().message;
  const json* site = nullptr;
  for (const json& s : r->at("sites")) {
    EXPECT_NE(s.at("site"), presized.at("site")) << "a presized slice grew: " << s.dump();
    if (s.at("site") == no_cap.at("site")) site = &s;
  }
  ASSERT_TRUE(site) << "no growth at " << no_cap.at("site") << ": " << r->dump();
  EXPECT_EQ(site->at("function"), "main.pushNoCap");
  EXPECT_EQ(site->at("elem_type"), "int64");
  EXPECT_EQ(site->at("elem_size"), 8);
  EXPECT_EQ(site->at("growths"), no_cap.at("growths"));
  EXPECT_EQ(site->at("allocs"), no_cap.at("growths"));
  EXPECT_EQ(site->at("from_empty"), 1);
  EXPECT_EQ(site->at("alloc_bytes"), no_cap.at("bytes"));
  EXPECT_EQ(site->at("copied_bytes"), no_cap.at("copied"));
  EXPECT_EQ(site->at("max_cap"), no_cap.at("cap"));

  auto advice = daemon_->call("advise", {{"target", target_}});
  ASSERT_TRUE(advice) << advice.error().message;
  EXPECT_EQ(advice->at("target"), target_);
  const json* a = advice_at(*advice, no_cap.at("site"));
  ASSERT_TRUE(a) << advice->dump();
  EXPECT_EQ(a->at("kind"), "presize_slice");
  EXPECT_EQ(a->at("function"), "main.pushNoCap");
  EXPECT_EQ(a->at("suggestion"), "allocate with make([]int64, 0, " + no_cap.at("cap").dump() + ")");
  EXPECT_EQ(a->at("evidence").at("growths"), no_cap.at("growths"));
  EXPECT_EQ(a->at("saving").at("growths"), no_cap.at("growths"));
  EXPECT_EQ(a->at("saving").at("copied_bytes"), no_cap.at("copied"));
  EXPECT_EQ(advice_at(*advice, presized.at("site")), nullptr) << advice->dump();
}

TEST_P(Advise, MapHintAdvisedWithTheMapsFiguresForTheUnhintedMapOnly) {
  start();
  if (HasFatalFailure() || IsSkipped()) return;
  json truth = command("map 100000");
  const std::string no_hint = truth.at("no_hint").at("site");
  const std::string hint = truth.at("hint").at("site");
  auto maps = daemon_->call("maps", {{"target", target_}, {"limit", 4096}});
  ASSERT_TRUE(maps) << maps.error().message;
  uint64_t growths = 0, bytes = 0, evacuated = 0;
  for (const json& m : maps->at("maps")) {
    if (m.at("site") != no_hint) continue;
    for (const auto& [kind, n] : m.at("growths").items()) growths += n.get<uint64_t>();
    bytes += m.at("growth_bytes").get<uint64_t>();
    evacuated += m.at("evacuated_buckets").get<uint64_t>();
  }
  ASSERT_GT(growths, 4u) << maps->dump();

  auto advice = daemon_->call("advise", {{"target", target_}});
  ASSERT_TRUE(advice) << advice.error().message;
  const json* a = advice_at(*advice, no_hint);
  ASSERT_TRUE(a) << advice->dump();
  EXPECT_EQ(a->at("kind"), "presize_map");
  EXPECT_EQ(a->at("function"), "main.mapNoHint");
  EXPECT_EQ(a->at("suggestion"), "presize with make(map[int64]int64, 100000)");
  EXPECT_EQ(a->at("evidence").at("growths"), growths);
  EXPECT_EQ(a->at("evidence").at("len"), 100000);
  EXPECT_EQ(a->at("saving").at("growths"), growths);
  EXPECT_EQ(a->at("saving").at("bytes"), bytes);
  EXPECT_EQ(a->at("saving").at("evacuated_buckets"), evacuated);
  EXPECT_EQ(advice_at(*advice, hint), nullptr) << advice->dump();
}

// Runs `top` in a tmux pane and reads the screen the way a person would.
TEST_P(Advise, TopShowsTheTopSizeClassAndTheGrowingMapWithin3s) {
  start();
  if (HasFatalFailure() || IsSkipped()) return;
  ASSERT_TRUE(prog_->write_line("busy 8"));
  auto first = prog_->read_line(10s);
  ASSERT_TRUE(first);
  json expect = json::parse(*first);
  const std::string size = expect.at("size").dump();
  const std::string map_site = expect.at("map_site");

  const std::string session = "hotalloc-top-" + std::to_string(getpid());
  const std::string ctl = build_dir() + "/hotallocctl";
  std::string cmd = "tmux new-session -d -s " + session + " -x 160 -y 50 '" + ctl + " --socket " +
                    daemon_->socket_path() + " top --target " + target_ + "'";
  ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
  // The first size row (the most objects per second) and the map's site.
  auto top_size = [](const std::string& screen) {
    size_t header = screen.find("SIZE");
    if (header == std::string::npos) return std::string();
    size_t line = screen.find('\n', header);
    if (line == std::string::npos) return std::string();
    size_t start = screen.find_first_not_of(' ', line + 1);
    size_t end = screen.find(' ', start);
    return start == std::string::npos ? std::string() : screen.substr(start, end - start);
  };
  std::string screen;  // the last one captured
  bool shown = eventually(
      [&] {
        screen = run_capture("tmux capture-pane -p -t " + session).value_or("");
        return screen.find("/s") != std::string::npos && top_size(screen) == size &&
               screen.find(map_site) != std::string::npos;
      },
      3s, 200ms);
  // q quits: the pane's command ends and tmux closes the session.
  system(("tmux send-keys -t " + session + " q").c_str());
  bool quit = eventually(
      [&] { return system(("tmux has-session -t " + session + " 2>/dev/null").c_str()) != 0; }, 2s, 100ms);
  if (!quit) system(("tmux kill-session -t " + session).c_str());
  EXPECT_TRUE(shown) << "within 3 s, no screen with size " << size << " on top and map " << map_site << ":\n"
                     << screen;
  EXPECT_TRUE(quit) << "q did not quit top";
  prog_->read_line(20s);  // busy's "done"
}

INSTANTIATE_TEST_SUITE_P(GoVersions, Advise, ::testing::ValuesIn(go_versions()), go_version_name);

}  // namespace
}  // namespace hotalloc::testing
