// hotallocctl advise and slices: what to change in a target's code (maps and
// slices to presize, keys to shard, maps to reuse), each with the figures it
// rests on; and slice growth per append site.
#include <vector>

#include <fmt/format.h>

#include "ctl/command_util.h"
#include "ctl/table.h"

namespace hotalloc::ctl {
namespace {

using nlohmann::json;

// "growths 28, copied 3.1 MiB": figures whose name ends in "bytes" in units.
std::string figures_text(const json& figures) {
  std::string out;
  for (const auto& [name, v] : figures.items()) {
    if (!v.is_number_unsigned()) continue;
    std::string shown = name.ends_with("bytes") ? human_bytes(v.get<uint64_t>()) : v.dump();
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, shown);
  }
  return out;
}

void render_advice(const json& r, std::ostream& os, bool color) {
  const json& advice = list(r, "advice");
  os << paint(text(r, "target"), Color::bold, color);
  if (advice.empty()) {
    os << ": no advice (nothing grew or concentrated past the thresholds in docs/protocol.md)\n";
    return;
  }
  os << '\n';
  int i = 0;
  for (const json& a : advice) {
    os << fmt::format("{:>2}. {:<14} {}  {}\n", ++i, text(a, "kind"), text(a, "site"), text(a, "function"));
    os << "    " << paint(text(a, "suggestion"), Color::green, color) << '\n';
    const json& evidence = a.value("evidence", json::object());
    os << "    evidence: " << figures_text(evidence) << '\n';
    for (const json& k : list(evidence, "keys"))
      os << fmt::format("      key {} {:.1f}% ({} inserts)\n", text(k, "key"), 100 * k.value("share", 0.0),
                        number(k, "inserts"));
    os << "    saves:    " << figures_text(a.value("saving", json::object())) << '\n';
  }
}

void render_slices(const json& r, std::ostream& os, bool color) {
  const json& sites = list(r, "sites");
  // Sites of one name get it as a header; those of several (no --target)
  // each say theirs in a column.
  std::string target = text(r, "target");
  if (!target.empty()) os << paint(target, Color::bold, color) << '\n';
  if (sites.empty()) {
    os << "no slice growth seen (growslice is probed while insert probes are on: --map-inserts)\n";
    return;
  }
  std::vector<Table::Column> columns{{"SITE"}, {"FUNCTION"}, {"ELEM"}, {"GROWTHS", true}, {"FROM EMPTY", true},
                                     {"MAX CAP", true}, {"COPIED", true}, {"ALLOCATED", true}};
  if (target.empty()) columns.insert(columns.begin(), Table::Column{"TARGET"});
  Table table(std::move(columns));
  for (const json& s : sites) {
    std::vector<Cell> row{text(s, "site"), text(s, "function"), text(s, "elem_type"), number(s, "growths"),
                          number(s, "from_empty"), number(s, "max_cap"), human_bytes(count_of(s, "copied_bytes")),
                          human_bytes(count_of(s, "alloc_bytes"))};
    if (target.empty()) row.insert(row.begin(), text(s, "target"));
    table.add(std::move(row));
  }
  table.print(os, color);
}

}  // namespace

void add_advise(CLI::App& app, Invocation& chosen) {
  auto target = std::make_shared<std::string>();
  CLI::App* sub = subcommand(app, chosen, "advise",
                             "What to change in a target's code: maps and slices to presize, keys to shard, maps to "
                             "reuse, with the evidence",
                             render_advice, [target] { return with_target(json::object(), *target); });
  sub->add_option("--target,-t", *target, "The target (needed when several are traced)");
}

void add_slices(CLI::App& app, Invocation& chosen) {
  struct Args {
    std::string target;
    uint64_t limit = 20;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = subcommand(app, chosen, "slices", "Slice growth (append past capacity) per call site",
                             render_slices, [a] { return with_target({{"limit", a->limit}}, a->target); });
  sub->add_option("--target,-t", a->target, "Only this target");
  sub->add_option("--limit,-n", a->limit, "Sites")->capture_default_str();
}

}  // namespace hotalloc::ctl
