// hotallocctl maps, hotkeys and events: a target's Go maps with their
// growth, its hottest keys, and the timeline of growth episodes, large
// allocations, refill bursts and GC cycles.
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "api/params.h"
#include "ctl/client.h"
#include "ctl/command_util.h"
#include "ctl/table.h"
#include "model/maps.h"
#include "tracer/insert_tier.h"

namespace hotalloc::ctl {
namespace {

using nlohmann::json;

// How long after a hot-key window ends its last inserts are surely
// collected: the daemon collects at least every second.
constexpr auto kCollectMargin = std::chrono::milliseconds(1500);
constexpr auto kFollowPoll = std::chrono::milliseconds(500);

std::string growths_text(const json& g) {
  std::string out;
  for (const auto& [kind, n] : g.items()) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", kind, n.dump());
  return out.empty() ? "-" : out;
}

std::string shape_text(const json& m) {
  const json& s = m.value("shape", json(nullptr));
  if (!s.is_object()) return "-";
  if (s.contains("B")) return fmt::format("B={}{}", s["B"].dump(), s.value("growing", false) ? " growing" : "");
  uint64_t tables = count_of(s, "tables");
  if (tables == 0) return fmt::format("small, {} group", count_of(s, "groups"));
  return fmt::format("{} groups, {} tables, dir {}", count_of(s, "groups"), tables, count_of(s, "directory"));
}

void render_maps(const json& r, std::ostream& os, bool color) {
  const json& maps = list(r, "maps");
  os << paint(text(r, "target"), Color::bold, color) << '\n';
  // Maps counted for their creation sites (hotalloc_map_growths_total) but
  // not listed; an older daemon's reply has no `unlisted`.
  const json& unlisted = r.value("unlisted", json::object());
  auto n_maps = [](uint64_t n) { return fmt::format("{} {}", n, n == 1 ? "map" : "maps"); };
  std::string also;
  if (uint64_t quiet = count_of(unlisted, "quiet"))
    also = fmt::format("{} never did more than exist (made, at most a first group)", n_maps(quiet));
  if (uint64_t parked = count_of(unlisted, "parked"))
    also += fmt::format("{}{} parked over the limit", also.empty() ? "" : "; ", n_maps(parked));
  if (!also.empty()) also = "not listed, counted for their sites: " + also + "\n";
  if (maps.empty()) {
    os << "no maps listed yet\n" << also;
    return;
  }
  Table table({{"ID", true}, {"SITE"}, {"FUNCTION"}, {"TYPE"}, {"WHERE"}, {"LEN", true}, {"SHAPE"}, {"GROWTHS"},
               {"EVACUATED", true}, {"GROWTH BYTES", true}, {"REFILLS", true}, {"INSERTS", true}, {"INS/S", true}});
  for (const json& m : maps) {
    std::string key = text(m, "key_type"), elem = text(m, "elem_type");
    // Types are learnt at the first growth or insert.
    std::string type = key.empty() ? "?" : fmt::format("map[{}]{}", key, elem);
    const json& on_stack = m.value("on_stack", json(nullptr));
    std::string where = on_stack.is_boolean() ? (on_stack.get<bool>() ? "stack" : "heap") : "-";
    double rate = m.value("inserts_per_second", 0.0);
    table.add({number(m, "id"), text(m, "site"), text(m, "function"), type, where, number(m, "len"), shape_text(m),
               growths_text(m.value("growths", json::object())), number(m, "evacuated_buckets"),
               human_bytes(count_of(m, "growth_bytes")), number(m, "growth_refills"), number(m, "inserts"),
               rate > 0 ? fmt::format("{:.0f}", rate) : "-"});
  }
  table.print(os, color);
  os << also;
}

void render_hotkeys(const json& r, std::ostream& os, bool color) {
  os << paint(text(r, "target"), Color::bold, color)
     << fmt::format(" (over {:.1f}s)\n", r.value("window_seconds", 0.0));
  const json& maps = list(r, "maps");
  if (maps.empty()) os << "no keys seen: insert probes are off (--map-inserts, or hotkeys --for 5s)\n";
  for (const json& m : maps) {
    os << fmt::format("\nmap {} at {} ({}), key {}, {} inserts\n", number(m, "id"), text(m, "site"),
                      text(m, "function"), text(m, "key_type"), number(m, "inserts"));
    Table table({{"KEY"}, {"INSERTS", true}, {"SHARE", true}}, "  ");
    for (const json& k : list(m, "keys"))
      table.add({text(k, "key"), number(k, "count"), fmt::format("{:.1f}%", 100.0 * k.value("share", 0.0))});
    table.print(os, color);
  }
}

std::string clock_text(int64_t unix_ms) {
  time_t t = unix_ms / 1000;
  tm local{};
  localtime_r(&t, &local);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min, local.tm_sec, unix_ms % 1000);
}

std::string duration_text(const json& e) {
  if (!e.contains("duration_us")) return "";
  int64_t us = e["duration_us"].get<int64_t>();
  return us >= 10'000 ? fmt::format(" in {:.1f} ms", double(us) / 1000.0) : fmt::format(" in {} µs", us);
}

void print_event(const json& e, std::ostream& os) {
  std::string kind = text(e, "kind");
  std::string map = e.contains("map") ? fmt::format(" map {} ({})", number(e, "map"), text(e, "site")) : "";
  std::string what;
  if (kind == "growth_start")
    what = fmt::format("{}{}: {} -> {}", text(e, "growth_kind"), map, number(e, "old_size"), number(e, "new_size"));
  else if (kind == "growth_end")
    what = fmt::format("{}{}: {} migrated{}", text(e, "growth_kind"), map, number(e, "migrated"), duration_text(e));
  else if (kind == "large_alloc")
    what = fmt::format("{}{}", human_bytes(count_of(e, "bytes")), map);
  else if (kind == "refill_burst")
    what = fmt::format("{} refills{}", number(e, "refills"), duration_text(e));
  else
    what = duration_text(e);
  os << fmt::format("{} {} pid {} {:<12} {}\n", clock_text(e.value("time_unix_ms", int64_t{0})), text(e, "target"),
                    number(e, "pid"), kind, what);
}

void render_events(const json& r, std::ostream& os, bool) {
  for (const json& e : list(r, "events")) print_event(e, os);
}

}  // namespace

void add_maps(CLI::App& app, Invocation& chosen) {
  auto target = std::make_shared<std::string>();
  auto limit = std::make_shared<uint64_t>(0);
  CLI::App* sub = subcommand(app, chosen, "maps",
                             "Go maps: creation site, types, stack or heap, shape, growths, and what growth cost",
                             render_maps, [target, limit] {
                               json p = with_target(json::object(), *target);
                               if (*limit) p["limit"] = *limit;
                               return p;
                             });
  sub->add_option("--target,-t", *target, "The target (needed when several are traced)");
  sub->add_option("--limit", *limit, "At most this many maps, most active first");
}

void add_hotkeys(CLI::App& app, Invocation& chosen) {
  struct Args {
    std::string target, for_text;
    uint64_t map = 0, limit = 10;
  };
  auto a = std::make_shared<Args>();
  auto params = [a] {
    json p = with_target({{"limit", a->limit}}, a->target);
    if (a->map) p["map"] = a->map;
    return p;
  };
  CLI::App* sub = app.add_subcommand("hotkeys", "The most inserted keys per map, with counts and share");
  sub->add_option("--target,-t", a->target, "The target (needed when targets of several names are traced)");
  sub->add_option("--map", a->map, "Only the map with this id (see `maps`)");
  sub->add_option("--limit,-n", a->limit, "Keys per map")->capture_default_str();
  sub->add_option("--for", a->for_text,
                  "Turn insert probes on for this long, in whole seconds (5s, 1m; 500ms becomes 1s; an admin request) and report that window")
      ->check([](const std::string& s) {
        return tracer::parse_duration_ms(s) ? std::string() : "expected a duration like 5s or 500ms";
      });
  // A window makes it a two-call run.
  sub->callback([a, &chosen, params] {
    chosen = {"hotkeys", params(), render_hotkeys};
    if (a->for_text.empty()) return;
    // The daemon takes whole seconds: wait for the window it opens, not the one asked for.
    int64_t seconds = (*tracer::parse_duration_ms(a->for_text) + 999) / 1000;
    chosen.run = [a, seconds, params](const std::string& socket, std::chrono::milliseconds timeout, bool json_out) {
      int code = 0;
      auto on = call_once(socket, timeout, "map_inserts", {{"for_seconds", seconds}}, json_out, code);
      if (!on) return code;
      const json* window = nullptr;
      if (auto w = on->find("window"); w != on->end() && w->is_object())
        if (auto id = w->find("id"); id != w->end() && id->is_number_unsigned()) window = &*id;
      if (!window) {
        std::cerr << "hotallocctl: the daemon's answer to map_inserts has no window id\n";
        return int(kExitProtocol);
      }
      json p = params();
      p["window"] = *window;
      std::this_thread::sleep_for(std::chrono::seconds(seconds) + kCollectMargin);
      auto r = call_once(socket, timeout, "hotkeys", p, json_out, code);
      if (!r) return code;
      if (json_out) std::cout << r->dump(2, ' ', false, json::error_handler_t::replace) << '\n';
      else render_hotkeys(*r, std::cout, color_wanted());
      return int(kExitOk);
    };
  });
}

void add_events(CLI::App& app, Invocation& chosen) {
  struct Args {
    std::string target;
    bool follow = false;
    uint64_t limit = 100;
  };
  auto a = std::make_shared<Args>();
  auto params = [a] { return with_target({{"limit", a->limit}}, a->target); };
  CLI::App* sub =
      app.add_subcommand("events", "Timeline: map growth episodes, large allocations, refill bursts, GC cycles");
  sub->add_option("--target,-t", a->target, "Only this target");
  sub->add_option("--limit,-n", a->limit, "The latest this many events")->capture_default_str();
  sub->add_flag("--follow,-f", a->follow, "Keep printing new events until interrupted (--json: one per line)");
  sub->callback([a, &chosen, params] {
    chosen = {"events", params(), render_events};
    if (!a->follow) return;
    chosen.run = [params](const std::string& socket, std::chrono::milliseconds timeout, bool json_out) {
      install_stop_handler();
      json p = params();
      while (!stop_requested()) {
        int code = 0;
        auto r = call_once(socket, timeout, "events", p, json_out, code);
        if (!r) return code;
        for (const json& e : list(*r, "events")) {
          if (json_out) std::cout << e.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
          else print_event(e, std::cout);
        }
        std::cout.flush();
        p["since"] = count_of(*r, "next");
        p["limit"] = api::kMaxLimit;  // all that came since, as far as the daemon gives
        std::this_thread::sleep_for(kFollowPoll);
      }
      return int(kExitOk);
    };
  });
}

}  // namespace hotalloc::ctl
