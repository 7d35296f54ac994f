// hotallocctl top: a live view of one target, redrawn every interval like
// top(1): allocation rates by size class, refills and GC cycles, the maps
// that grow, the slices append grows, and the hottest keys. Plain ANSI
// escapes (the alternate screen, clear, bold): nothing to link. On a
// terminal `q` quits; when stdout is not one (a pipe, a file), each refresh
// is printed as plain lines, with no escapes and no reading of stdin.
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <tuple>
#include <sstream>

#include <fmt/format.h>

#include "ctl/client.h"
#include "ctl/command_util.h"
#include "ctl/table.h"

namespace hotalloc::ctl {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kRows = 8;  // per section
constexpr uint64_t kMinKeyInserts = 100;  // maps with fewer inserts show no hot keys

// Raw keyboard input (no echo, no line buffering) while it lives.
class RawInput {
 public:
  RawInput() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawInput() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawInput(const RawInput&) = delete;
  RawInput& operator=(const RawInput&) = delete;
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

// Waits up to `wait` for a key; true when it was q (or Q).
bool quit_key(std::chrono::milliseconds wait, bool read_keys) {
  if (!read_keys) {
    timespec ts{static_cast<time_t>(wait.count() / 1000), static_cast<long>(wait.count() % 1000) * 1'000'000};
    nanosleep(&ts, nullptr);
    return false;
  }
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  char c = 0;
  while (read(STDIN_FILENO, &c, 1) == 1)
    if (c == 'q' || c == 'Q') return true;
  return false;
}

struct Sample {
  Clock::time_point at;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> classes;  // object size -> (objects, refills)
  uint64_t bytes = 0, objects = 0, gc_cycles = 0;
};

Sample sample_of(const json& target, Clock::time_point at) {
  Sample s{at, {}, 0, 0, 0};
  for (const json& c : list(target, "classes"))
    s.classes[count_of(c, "object_size")] = {count_of(c, "objects"), count_of(c, "refills")};
  const json& totals = target.value("totals", json::object());
  s.bytes = count_of(totals, "bytes");
  s.objects = count_of(totals, "objects");
  s.gc_cycles = count_of(target, "gc_cycles");
  return s;
}

// Per second between two samples; the first frame shows totals instead.
double per_second(uint64_t now, uint64_t before, double seconds) {
  return seconds > 0 && now >= before ? double(now - before) / seconds : double(now);
}

std::string frame(const std::string& target, const json& sizes, const json& maps, const json& slices,
                  const json& hotkeys, const Sample& now, const Sample* prev, bool color) {
  std::ostringstream os;
  double dt = prev ? std::chrono::duration<double>(now.at - prev->at).count() : 0;
  const char* unit = prev ? "/s" : " (total)";
  std::time_t wall = std::time(nullptr);
  char clock[16];
  std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&wall));
  os << paint(fmt::format("hotalloc top: {} ({})", target, text(sizes, "go_version")), Color::bold, color) << "  "
     << clock << (color ? "  q quits" : "") << '\n';
  os << fmt::format("allocated {}{}, {:.0f} objects{}, GC cycles {:.1f}{}\n\n",
                    human_bytes(uint64_t(per_second(now.bytes, prev ? prev->bytes : 0, dt))), unit,
                    per_second(now.objects, prev ? prev->objects : 0, dt), unit,
                    per_second(now.gc_cycles, prev ? prev->gc_cycles : 0, dt), unit);

  struct Row {
    double objects, refills;
    uint64_t size;
  };
  std::vector<Row> rows;
  for (const auto& [size, counts] : now.classes) {
    std::pair<uint64_t, uint64_t> before{0, 0};
    if (prev)
      if (auto it = prev->classes.find(size); it != prev->classes.end()) before = it->second;
    rows.push_back({per_second(counts.first, before.first, dt), per_second(counts.second, before.second, dt), size});
  }
  std::ranges::sort(rows, std::greater<>(), &Row::objects);
  Table classes({{"SIZE", true}, {std::string("OBJECTS") + unit, true}, {std::string("BYTES") + unit, true},
                 {std::string("REFILLS") + unit, true}});
  for (size_t i = 0; i < rows.size() && i < kRows; i++)
    classes.add({std::to_string(rows[i].size), fmt::format("{:.0f}", rows[i].objects),
                 human_bytes(uint64_t(rows[i].objects * double(rows[i].size))), fmt::format("{:.0f}", rows[i].refills)});
  classes.print(os, color);

  // Maps by creation site: one site may make many maps (one per request, say).
  struct MapSite {
    std::string function;
    uint64_t maps = 0, max_len = 0, growths = 0, bytes = 0;
  };
  std::map<std::string, MapSite> by_site;
  for (const json& m : list(maps, "maps")) {
    uint64_t growths = 0;
    const json by_kind = m.value("growths", json::object());  // a named copy: the loop must not dangle
    if (by_kind.is_object())
      for (const json& n : by_kind) growths += n.is_number_unsigned() ? n.get<uint64_t>() : 0;
    if (growths == 0) continue;
    MapSite& s = by_site[text(m, "site")];
    s.function = text(m, "function");
    s.maps++;
    s.growths += growths;
    s.bytes += count_of(m, "growth_bytes");
    if (m.value("len", json()).is_number_unsigned()) s.max_len = std::max(s.max_len, m["len"].get<uint64_t>());
  }
  std::vector<std::pair<uint64_t, std::string>> busiest;
  for (const auto& [site, s] : by_site) busiest.emplace_back(s.growths, site);
  std::ranges::sort(busiest, std::greater<>());
  os << '\n' << paint("growing maps", Color::bold, color) << '\n';
  Table mt({{"SITE"}, {"FUNCTION"}, {"MAPS", true}, {"MAX LEN", true}, {"GROWTHS", true}, {"GROWTH BYTES", true}});
  for (size_t i = 0; i < busiest.size() && i < kRows; i++) {
    const MapSite& s = by_site[busiest[i].second];
    mt.add({busiest[i].second, s.function, std::to_string(s.maps), std::to_string(s.max_len),
            std::to_string(s.growths), human_bytes(s.bytes)});
  }
  mt.print(os, color);

  os << '\n' << paint("growing slices", Color::bold, color) << " (insert tier)\n";
  Table st({{"SITE"}, {"FUNCTION"}, {"ELEM"}, {"GROWTHS", true}, {"MAX CAP", true}, {"ALLOCATED", true}});
  for (const json& s : list(slices, "sites"))
    st.add({text(s, "site"), text(s, "function"), text(s, "elem_type"), number(s, "growths"), number(s, "max_cap"),
            human_bytes(count_of(s, "alloc_bytes"))});
  st.print(os, color);

  // The keys with the largest shares of their map's inserts, over all maps.
  std::vector<std::tuple<double, std::string, std::string>> keys;
  for (const json& m : list(hotkeys, "maps")) {
    if (count_of(m, "inserts") < kMinKeyInserts) continue;  // a share of a handful says nothing
    for (const json& k : list(m, "keys")) keys.emplace_back(k.value("share", 0.0), text(m, "site"), text(k, "key"));
  }
  std::ranges::sort(keys, std::greater<>());
  os << '\n' << paint("hot keys", Color::bold, color) << " (insert tier)\n";
  Table kt({{"SITE"}, {"KEY"}, {"SHARE", true}});
  for (size_t i = 0; i < keys.size() && i < kRows; i++)
    kt.add({std::get<1>(keys[i]), std::get<2>(keys[i]), fmt::format("{:.1f}%", 100 * std::get<0>(keys[i]))});
  kt.print(os, color);
  return os.str();
}

int run_top(const std::string& socket, std::chrono::milliseconds timeout, const std::string& target,
            std::chrono::milliseconds interval, uint64_t iterations) {
  const bool tty = isatty(STDOUT_FILENO);
  install_stop_handler();
  RawInput input;
  if (tty) std::cout << "\x1b[?1049h\x1b[?25l" << std::flush;  // alternate screen, no cursor
  int code = kExitOk;
  std::optional<Sample> prev;
  json one = {{"target", target}};
  json limited = {{"target", target}, {"limit", kRows}};
  json many = {{"target", target}, {"limit", 1000}};  // maps are summed by site
  for (uint64_t n = 0; !stop_requested() && (iterations == 0 || n < iterations); n++) {
    json sizes, maps, slices, hotkeys;
    auto ask = [&](const char* method, const json& params, json& out) {
      auto r = call_once(socket, timeout, method, params, false, code);
      if (r) out = std::move(*r);
      return bool(r);
    };
    if (!ask("sizeclasses", one, sizes) || !ask("maps", many, maps) || !ask("slices", limited, slices) ||
        !ask("hotkeys", json{{"target", target}, {"limit", 3}}, hotkeys))
      break;
    const json& t = list(sizes, "targets").empty() ? json::object() : sizes["targets"][0];
    Sample now = sample_of(t, Clock::now());
    std::string screen = frame(target, t, maps, slices, hotkeys, now, prev ? &*prev : nullptr, tty && color_wanted());
    if (tty) std::cout << "\x1b[H\x1b[2J";
    std::cout << screen << (tty ? "" : "\n") << std::flush;
    prev = now;
    if (quit_key(interval, tty && input.active())) break;
  }
  if (tty) std::cout << "\x1b[?25h\x1b[?1049l" << std::flush;
  return code;
}

}  // namespace

void add_top(CLI::App& app, Invocation& chosen) {
  struct Args {
    std::string target;
    double seconds = 1;
    uint64_t iterations = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("top", "Live view of a target: allocation rates, refills, GC, growing maps "
                                            "and slices, hot keys (q quits)");
  sub->add_option("--target,-t", a->target, "The target")->required();
  sub->add_option("--interval", a->seconds, "Seconds between refreshes")->capture_default_str()->check(
      CLI::Range(0.1, 3600.0));
  sub->add_option("--iterations,-n", a->iterations, "Stop after this many refreshes (0: until q or Ctrl-C)")
      ->capture_default_str();
  sub->callback([a, &chosen] {
    chosen = {"top", json::object(), nullptr};
    chosen.run = [a](const std::string& socket, std::chrono::milliseconds timeout, bool) {
      return run_top(socket, timeout, a->target, std::chrono::milliseconds(int64_t(a->seconds * 1000)),
                     a->iterations);
    };
  });
}

}  // namespace hotalloc::ctl
