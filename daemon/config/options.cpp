#include "config/options.h"

#include <cerrno>
#include <climits>
#include <fstream>
#include <iterator>
#include <regex>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <toml++/toml.h>

#include "tracer/insert_tier.h"
#include "tracer/target_spec.h"

namespace hotalloc::config {
namespace {

Status positive_pid(const int& pid) {
  if (pid <= 0) return fail("{} is not a process id", pid);
  return {};
}

Status exe_spec(const std::string& text) {
  if (auto spec = tracer::parse_exe_spec(text); !spec) return fail(spec.error());
  return {};
}

Status regex(const std::string& text) {
  try {
    std::regex re(text, std::regex::extended);
  } catch (const std::regex_error& e) {
    return fail("\"{}\" is not a regular expression: {}", text, e.what());
  }
  return {};
}

// The port at least: the exporter resolves the host when it binds.
Status listen_address(const std::string& text) {
  auto colon = text.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    std::string_view digits = std::string_view(text).substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size()) port = -1;
  }
  if (port < 0 || port > 65535) return fail("\"{}\" is not [HOST]:PORT", text);
  return {};
}

Status insert_mode(const std::string& text) {
  if (auto m = tracer::parse_insert_mode(text); !m) return fail(m.error());
  return {};
}

Status absolute_path(const std::string& text) {
  if (!text.starts_with('/')) return fail("\"{}\" must start with /", text);
  return {};
}

std::vector<Setting> declare() {
  const Options d;
  using std::chrono::milliseconds;
  std::vector<Setting> s;
  s.push_back(option("pid", &Options::pids, "Trace this process (repeatable)")
                  .type("PID").check(positive_pid).reloadable().build(d));
  s.push_back(option("exe", &Options::exes,
                     "Trace every process running this executable, now and later; NAME is the target label "
                     "(default: the file's basename) (repeatable)")
                  .type("[NAME=]PATH").check(exe_spec).reloadable().build(d));
  s.push_back(option("discover", &Options::discover,
                     "Trace every Go process on the host, including ones started later; each is a target named "
                     "after its executable")
                  .reloadable().build(d));
  s.push_back(option("match", &Options::match,
                     "With --discover, only processes whose comm, executable path, cgroup or systemd unit matches "
                     "(POSIX extended regex, repeatable: any may match)")
                  .type("REGEX").check(regex).reloadable().build(d));
  s.push_back(option("web.listen-address", &Options::listen_address, "Address for /metrics and the health endpoints")
                  .type("[HOST]:PORT").check(listen_address).build(d));
  s.push_back(option("web.telemetry-path", &Options::telemetry_path, "Path of the metrics endpoint")
                  .type("PATH").check(absolute_path).build(d));
  s.push_back(option("log.level", &Options::log_level, "debug, info, warn or error")
                  .type("LEVEL").check(one_of({"debug", "info", "warn", "error"})).reloadable().build(d));
  s.push_back(option("log.format", &Options::log_format, "logfmt or json")
                  .type("FORMAT").check(one_of({"logfmt", "json"})).build(d));
  s.push_back(option("socket.path", &Options::socket_path, "Unix socket for hotallocctl")
                  .alias("--socket").type("PATH").check(absolute_path).build(d));
  s.push_back(option("socket.group", &Options::socket_group, "Group allowed to query the socket")
                  .type("GROUP").build(d));
  s.push_back(option("socket.max-clients", &Options::socket_max_clients, "Clients connected at once")
                  .type("N").check(in_range<uint32_t>(1, 4096)).reloadable().build(d));
  s.push_back(option("socket.max-request-bytes", &Options::socket_max_request_bytes, "Longest request line")
                  .type("BYTES").check(in_range<uint32_t>(1024, 64 << 20)).reloadable().build(d));
  s.push_back(option("socket.idle-timeout", &Options::socket_idle_timeout,
                     "Close a connection without traffic for this long")
                  .type("DURATION").check(in_range(milliseconds(1000), milliseconds(3'600'000))).reloadable()
                  .build(d));
  s.push_back(option("admin-uid", &Options::admin_uids, "Uid allowed admin methods besides root (repeatable)")
                  .type("UID").reloadable().build(d));
  s.push_back(option("collect.interval-ms", &Options::collect_interval_ms, "How often BPF counters are read (ms)")
                  .type("MS").check(in_range<uint32_t>(50, 60000)).reloadable().build(d));
  s.push_back(option("map-inserts", &Options::map_inserts,
                     "Map insert probes (hot keys, insert rates, stack or heap): off, on, or on for a while of "
                     "every period, like 200ms/10s")
                  .type("MODE").check(insert_mode).reloadable().build(d));
  s.push_back(option("metrics.hot-keys", &Options::metrics_hot_keys,
                     "Hot-key series per map in hotalloc_map_hot_key_inserts_total (0: none)")
                  .type("N").check(in_range<uint32_t>(0, 100)).build(d));
  s.push_back(option("metrics.hot-maps", &Options::metrics_hot_maps, "Maps with hot-key series, per target")
                  .type("N").check(in_range<uint32_t>(1, 100)).build(d));
  s.push_back(option("metrics.redact-hot-keys", &Options::metrics_redact_keys,
                     "Export hot keys as h:<8 hex digits of their hash> instead of their text")
                  .alias("--metrics.hot-keys.redact").build(d));
  return s;
}

const Setting* find_setting(std::string_view name) {
  for (const Setting& s : settings())
    if (s.name == name) return &s;
  return nullptr;
}

// A table whose path starts some setting's name, so that "[web]" is known
// and "[wbe]" is not.
bool is_setting_prefix(const std::string& path) {
  for (const Setting& s : settings())
    if (s.name.starts_with(path + ".")) return true;
  return false;
}

// A TOML scalar as the text a flag would carry, when it has the kind the
// setting reads.
Result<std::string> scalar_text(const toml::node& n, TomlKind want) {
  if (want == TomlKind::string && n.is_string()) return std::string(n.as_string()->get());
  if (want == TomlKind::integer && n.is_integer()) return std::to_string(n.as_integer()->get());
  if (want == TomlKind::boolean && n.is_boolean()) return std::string(n.as_boolean()->get() ? "true" : "false");
  return fail("expected {}", to_string(want));
}

Status apply_table(const toml::table& table, const std::string& prefix, const std::string& file, Options& o) {
  for (const auto& [key, node] : table) {
    std::string path = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    const toml::source_region& where = key.source();
    auto error = [&](const Error& e) {
      return fail(Error{fmt::format("{}:{}: {}: {}", file, where.begin.line, path, e.message)});
    };
    const Setting* s = find_setting(path);
    if (!s) {
      if (node.is_table() && is_setting_prefix(path)) {
        if (auto st = apply_table(*node.as_table(), path, file, o); !st) return st;
        continue;
      }
      return error(Error{"unknown key"});
    }
    std::vector<std::string> values;
    if (const toml::array* arr = node.as_array()) {
      if (!s->repeatable) return error(Error{fmt::format("expected {}, not a list", to_string(s->toml_kind))});
      for (const toml::node& e : *arr) {
        auto text = scalar_text(e, s->toml_kind);
        if (!text) return error(Error{fmt::format("list of {}", text.error().message)});
        values.push_back(std::move(*text));
      }
    } else {
      auto text = scalar_text(node, s->toml_kind);
      if (!text) return error(text.error());
      values.push_back(std::move(*text));
    }
    if (auto st = s->assign(o, values); !st) return error(st.error());
  }
  return {};
}

}  // namespace

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = declare();
  return all;
}

int parse_command_line(int argc, char** argv, const std::string& version, CommandLine& out) {
  CLI::App app{"hotallocd - watches running Go programs with eBPF and shows where their allocations go"};
  app.footer(
      "Every option is also a key of the config file (TOML; web.listen-address is listen-address in [web]).\n"
      "Options given here win over the file. SIGHUP re-reads the file.\n\n"
      "Examples:\n"
      "  hotallocd --pid 4242\n"
      "  hotallocd --exe api=/usr/local/bin/api-server --web.listen-address=127.0.0.1:17911\n"
      "  hotallocd --discover --match '^api-' \n"
      "  hotallocd --config /etc/hotalloc/hotalloc.toml\n");
  app.set_version_flag("--version", version);
  std::string config;
  CLI::Option* config_opt =
      app.add_option("--config", config, "Read settings from this TOML file (and again on SIGHUP)")->type_name("PATH");
  app.add_flag("--check-config", out.check_only, "Check the settings (file and flags), say whether they are valid, exit");

  std::vector<std::vector<std::string>> raw(settings().size());
  std::vector<CLI::Option*> opts;
  for (size_t i = 0; i < settings().size(); i++) {
    const Setting& s = settings()[i];
    std::string names = "--" + s.name;
    for (const auto& a : s.flag_aliases) names += "," + a;
    std::string help = s.help;
    if (s.reloadable) help += " [reloadable]";
    CLI::Option* o = s.is_switch ? app.add_flag(names, raw[i], help) : app.add_option(names, raw[i], help);
    if (!s.is_switch) {
      o->type_name(s.type_name);
      if (!s.default_text.empty()) o->default_str(s.default_text);
    }
    if (!s.repeatable) {
      if (!s.is_switch) o->expected(1);
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    opts.push_back(o);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (config_opt->count() > 0) out.config_path = config;
  for (size_t i = 0; i < settings().size(); i++)
    if (opts[i]->count() > 0) out.flags[settings()[i].name] = raw[i];
  return -1;
}

Status apply_text(std::string_view text, const std::string& name, Options& o) {
  toml::table table;
  try {
    table = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    if (where.line == 0) return fail("{}: {}", name, e.description());
    return fail("{}:{}:{}: {}", name, where.line, where.column, e.description());
  }
  return apply_table(table, "", name, o);
}

Status apply_file(const std::string& path, Options& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(errno, "open " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return apply_text(text, path, o);
}

Result<Options> resolve(const CommandLine& cli) {
  Options o;
  if (cli.config_path) {
    if (auto st = apply_file(*cli.config_path, o); !st) return fail(st.error());
  }
  for (const auto& [name, values] : cli.flags) {
    const Setting* s = find_setting(name);
    if (!s) return fail("--{}: no such setting", name);
    if (auto st = s->assign(o, values); !st) return fail(st.error().context("--" + name));
  }
  if (o.pids.empty() && o.exes.empty() && !o.discover)
    return fail("nothing to trace: give --pid PID, --exe [NAME=]PATH or --discover (or pid, exe or discover in the "
                "config file; see --help)");
  if (!o.match.empty() && !o.discover) return fail("match filters what --discover finds; it needs discover too");
  return o;
}

std::vector<const Setting*> changed_settings(const Options& a, const Options& b) {
  std::vector<const Setting*> out;
  for (const Setting& s : settings())
    if (!s.equal(a, b)) out.push_back(&s);
  return out;
}

}  // namespace hotalloc::config
