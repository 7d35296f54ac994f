// Map identity and hot-key decoding against what tests/targets/mapslab
// reports itself: keys of every kind shown as the README says (integers
// with their sign, pointers and arrays in hex, strings quoted, escaped and
// cut at 64 bytes), with exact counts; and a map made at the address of a
// dead one is a new map, from its own line, while the dead one's growths
// stay counted.
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/env.h"
#include "support/go_matrix.h"
#include "support/traced_program.h"

namespace hotalloc::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class MapIdentity : public TracedProgramPerVersion {
 protected:
  std::string program() const override { return "mapslab"; }
};

// How README "Maps" says a string key is shown: Go-like quoting of its first
// 64 bytes, "…" when there were more.
std::string shown_string(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < 64; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out + (s.size() > 64 ? "…\"" : "\"");
}

std::string shown(const std::string& kind, const std::string& value) {
  if (kind == "string") return shown_string(value);
  if (kind == "bytes") return "0x" + value;
  return value;  // int: decimal; pointer: already 0x-hex
}

TEST_P(MapIdentity, KeysAreDecodedByTheirType) {
  start({"--map-inserts=on"});
  if (HasFatalFailure() || IsSkipped()) return;
  json truth = command("keys");
  ASSERT_EQ(truth.size(), 6u) << truth.dump();
  auto r = daemon_->wait_for("hotkeys", {{"target", target_}, {"limit", 10}}, [&](const json& res) {
    size_t complete = 0;
    for (const json& want : truth) {
      uint64_t n = 0;
      for (const json& k : want.at("keys")) n += k.at("count").get<uint64_t>();
      for (const json& m : res.at("maps"))
        if (m.at("function") == want.at("function") && m.at("inserts").get<uint64_t>() >= n) complete++;
    }
    return complete == truth.size();
  }, 15s);
  ASSERT_TRUE(r) << r.error().message << "\n" << daemon_->log().substr(0, 4000);
  for (const json& want : truth) {
    const json* got = nullptr;
    for (const json& m : r->at("maps"))
      if (m.at("function") == want.at("function")) got = &m;
    ASSERT_TRUE(got) << want.dump();
    std::string kind = want.at("kind");
    const json& keys = got->at("keys");
    ASSERT_EQ(keys.size(), want.at("keys").size()) << got->dump();
    for (size_t i = 0; i < keys.size(); i++) {
      const json& w = want.at("keys")[i];
      EXPECT_EQ(keys[i].at("key"), shown(kind, w.at("key"))) << want.at("function") << " " << got->dump();
      EXPECT_EQ(keys[i].at("count"), w.at("count")) << got->dump();
    }
  }
  prog_->write_line("quit");
}

// The target's map growths per kind, summed over all series (all sites) of
// hotalloc_map_growths_total.
Result<std::map<std::string, uint64_t>> growths_by_kind(DaemonHarness& d, const std::string& target) {
  auto text = d.metrics();
  if (!text) return fail(text.error());
  std::istringstream lines(*text);
  std::map<std::string, uint64_t> kinds;
  std::string prefix = "hotalloc_map_growths_total{target=\"" + target + "\"";
  for (std::string line; std::getline(lines, line);) {
    auto at = line.find("kind=\"");
    if (!line.starts_with(prefix) || at == std::string::npos) continue;
    std::string kind = line.substr(at + 6, line.find('"', at + 6) - at - 6);
    kinds[kind] += std::stoull(line.substr(line.rfind(' ') + 1));
  }
  return kinds;
}

TEST_P(MapIdentity, AMapAtADeadMapsAddressIsANewMap) {
  start();
  if (HasFatalFailure() || IsSkipped()) return;
  json truth = command("reuse");
  std::string address = truth.at("address");
  ASSERT_FALSE(address.empty()) << "no map got the dead map's address in a million tries: " << truth.dump();
  json b = truth.at("b");
  auto got = wait_map("main.makeB", [&](const json& m) {
    return m.at("address") == address && m.at("growths") == b.at("growths");
  });
  ASSERT_TRUE(got) << got.error().message << "\nprogram: " << truth.dump();
  EXPECT_EQ(got->at("site"), fmt::format("main.go:{}", truth.at("line_b").get<int>())) << got->dump();
  EXPECT_EQ(got->at("len"), b.at("len"));
  EXPECT_TRUE(got->at("created_seen").get<bool>());
  // No map at that address still claims A's line...
  auto maps = daemon_->call("maps", {{"target", target_}});
  ASSERT_TRUE(maps) << maps.error().message;
  for (const json& m : maps->at("maps")) {
    if (m.at("address") == address) {
      EXPECT_NE(m.at("site"), fmt::format("main.go:{}", truth.at("line_a").get<int>())) << m.dump();
    }
  }
  // ...and A's growths, made and ended between two of the daemon's reads,
  // are still counted: per kind, the metric holds both maps' growths. The
  // program's own small bookkeeping maps (up to 8 keys) add growths of one
  // kind only, swiss maps' to_small, which is therefore at least the sum.
  std::map<std::string, uint64_t> want;
  for (const json* g : {&truth.at("a").at("growths"), &b.at("growths")})
    for (const auto& [kind, count] : g->items()) want[kind] += count.get<uint64_t>();
  std::map<std::string, uint64_t> got_kinds;
  auto matches = [&] {
    for (const auto& [kind, n] : want)
      if (kind == "to_small" ? got_kinds[kind] < n : got_kinds[kind] != n) return false;
    return true;
  };
  // Scraped every 200 ms for up to 10 s; a failed scrape ends the polling.
  Result<std::map<std::string, uint64_t>> k = fail("not scraped");
  eventually([&] {
    k = growths_by_kind(*daemon_, target_);
    if (!k) return true;
    got_kinds = *k;
    return matches();
  }, 10s, 200ms);
  ASSERT_TRUE(k) << k.error().message;
  for (const auto& [kind, n] : want) {
    if (kind == "to_small") EXPECT_GE(got_kinds[kind], n) << kind << "\n" << truth.dump();
    else EXPECT_EQ(got_kinds[kind], n) << kind << "\n" << truth.dump();
  }
  prog_->write_line("quit");
}

INSTANTIATE_TEST_SUITE_P(GoVersions, MapIdentity, ::testing::ValuesIn(go_versions()), go_version_name);

}  // namespace
}  // namespace hotalloc::testing
