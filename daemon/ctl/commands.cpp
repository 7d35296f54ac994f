#include "ctl/commands.h"

#include <map>
#include <memory>

#include <fmt/format.h>

#include "ctl/command_util.h"
#include "ctl/table.h"

namespace hotalloc::ctl {
namespace {

using nlohmann::json;

Color state_color(const std::string& state) {
  if (state == "attached") return Color::green;
  if (state == "failed") return Color::red;
  return Color::yellow;
}

std::string yes_no(const json& j, const char* key) { return j.value(key, false) ? "yes" : "no"; }

// "reason 3, other 1", or "none" when every count is zero.
std::string nonzero_counts(const json& counts) {
  std::string out;
  for (const auto& [name, n] : counts.items()) {
    if (!n.is_number() || n == 0) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n.dump());
  }
  return out.empty() ? "none" : out;
}

void render_status(const json& r, std::ostream& os, bool color) {
  const json& d = r.at("daemon");
  bool ready = r.value("ready", false);
  std::string http = text(d, "http_address");
  os << fmt::format("hotallocd {} (revision {}, libbpf {}), pid {}, up {}, ", text(d, "version"),
                    text(d, "revision"), text(d, "libbpf_version"), number(d, "pid"),
                    human_duration(d.value("uptime_seconds", int64_t{0})))
     << paint(ready ? "ready" : "not ready", ready ? Color::green : Color::yellow, color) << '\n';
  os << fmt::format("metrics {}, socket {}, map inserts {}\n", http.empty() ? "not served" : http,
                    text(d, "socket"), text(d, "map_inserts"));

  std::map<std::string, json> health;
  json skips = json::object();
  for (const json& p : list(r, "probe_health")) {
    health[text(p, "probe")] = p;
    skips[text(p, "probe")] = p.value("morestack_skips", json(0));
  }

  for (const json& t : list(r, "targets")) {
    std::string state = text(t, "state");
    std::string pids;
    for (const json& pid : list(t, "pids")) pids += (pids.empty() ? "" : " ") + pid.dump();
    os << fmt::format("\n{} (id {}, {}): ", text(t, "name"), number(t, "id"), text(t, "spec"))
       << paint(state, state_color(state), color);
    // A target still attaching, or failed early, has no version or exe yet.
    for (const char* key : {"go_version", "exe"}) {
      if (std::string v = text(t, key); !v.empty()) os << ", " << v;
    }
    os << ", pids " << (pids.empty() ? "none" : pids) << '\n';
    if (std::string err = text(t, "error"); !err.empty()) os << "  " << paint("error: " + err, Color::red, color) << '\n';

    Table probes({{"PROBE"}, {"SYMBOL"}, {"SITE"}, {"PLACEMENT"}, {"EMULATED"}, {"ATTACHED"}, {"HITS", true}}, "  ");
    std::vector<std::string> probe_errors;
    for (const json& p : list(t, "probes")) {
      std::string name = text(p, "probe");
      std::string site = "+" + number(p, "site_offset");
      if (std::string insn = text(p, "instruction"); !insn.empty()) site += " " + insn;
      bool attached = p.value("attached", false);
      auto h = health.find(name);
      probes.add({name, text(p, "symbol"), site, text(p, "placement"),
                  Cell(yes_no(p, "emulated"), p.value("emulated", false) ? Color::none : Color::yellow),
                  Cell(yes_no(p, "attached"), attached ? Color::none : Color::red),
                  h != health.end() ? number(h->second, "hits") : "-"});
      if (std::string err = text(p, "error"); !err.empty()) probe_errors.push_back(name + ": " + err);
    }
    if (!list(t, "probes").empty()) probes.print(os, color);
    for (const std::string& e : probe_errors) os << "  " << paint(e, Color::red, color) << '\n';
  }
  if (list(r, "targets").empty()) os << "\nno targets\n";

  std::string drops = nonzero_counts(r.value("drops", json::object()));
  os << '\n' << "drops: " << paint(drops, drops == "none" ? Color::none : Color::red, color) << '\n';
  os << "morestack skips: " << nonzero_counts(skips) << '\n';
}

void render_targets(const json& r, std::ostream& os, bool color) {
  const json& targets = list(r, "targets");
  if (targets.empty()) {
    os << "no targets\n";
    return;
  }
  Table table({{"ID", true}, {"NAME"}, {"STATE"}, {"GO"}, {"PIDS"}, {"SEEN", true}, {"EXE"}, {"SPEC"}});
  std::vector<std::string> errors;
  for (const json& t : targets) {
    std::string pids;
    for (const json& p : list(t, "processes")) pids += (pids.empty() ? "" : ",") + number(p, "pid");
    std::string state = text(t, "state");
    std::string go = text(t, "go_version");
    table.add({number(t, "id"), text(t, "name"), Cell(state, state_color(state)), go.empty() ? "-" : go,
               pids.empty() ? "-" : pids, number(t, "processes_seen"), text(t, "exe"), text(t, "spec")});
    if (std::string err = text(t, "error"); !err.empty()) errors.push_back(text(t, "name") + ": " + err);
  }
  table.print(os, color);
  for (const std::string& e : errors) os << paint(e, Color::red, color) << '\n';
}

void render_sizeclasses(const json& r, std::ostream& os, bool color) {
  const json& targets = list(r, "targets");
  if (targets.empty()) os << "no targets\n";
  bool first = true;
  for (const json& t : targets) {
    if (!first) os << '\n';
    first = false;
    os << paint(text(t, "target"), Color::bold, color);
    if (std::string go = text(t, "go_version"); !go.empty()) os << " (" << go << ")";
    os << '\n';
    Table table({{"SIZE", true}, {"OBJECTS", true}, {"BYTES", true}, {"REFILLS", true}, {"NOSCAN%", true}}, "  ");
    for (const json& c : list(t, "classes")) {
      uint64_t objects = c.value("objects", uint64_t{0});
      uint64_t noscan = c.value("noscan_objects", uint64_t{0});
      std::string share = objects ? fmt::format("{:.0f}%", 100.0 * static_cast<double>(noscan) / objects) : "-";
      table.add({number(c, "object_size"), number(c, "objects"), human_bytes(c.value("bytes", uint64_t{0})),
                 number(c, "refills"), share});
    }
    const json& large = t.at("large");
    const json& totals = t.at("totals");
    table.add({"large", number(large, "objects"), human_bytes(large.value("bytes", uint64_t{0}))});
    table.add({"tiny", number(t.at("tiny"), "objects")});
    table.add({"total", number(totals, "objects"), human_bytes(totals.value("bytes", uint64_t{0}))});
    table.print(os, color);
  }
}

}  // namespace

void add_status(CLI::App& app, Invocation& chosen) {
  subcommand(app, chosen, "status", "The daemon, its targets, and where and how each probe is attached",
             render_status);
}

void add_targets(CLI::App& app, Invocation& chosen) {
  subcommand(app, chosen, "targets", "Traced targets with their processes", render_targets);
}

void add_sizeclasses(CLI::App& app, Invocation& chosen) {
  auto target = std::make_shared<std::string>();
  CLI::App* sub = subcommand(app, chosen, "sizeclasses",
                             "Allocations by size class (objects, slot bytes, span refills), per target",
                             render_sizeclasses, [target] {
                               return target->empty() ? json::object() : json{{"target", *target}};
                             });
  sub->add_option("--target,-t", *target, "Only the target with this name");
}

}  // namespace hotalloc::ctl
