// The settings table: every setting is a flag and a config-file key with the
// same validation, errors name the file, line and key, flags win over the
// file, and a reload can tell what changed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/options.h"
#include "target_test_support.h"

namespace hotalloc::config {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  // Writes a config file and resolves it with these flags.
  Result<Options> load(std::string_view toml, std::vector<std::string> flags = {}) {
    std::string path = file(toml);
    std::vector<std::string> args = {"hotallocd", "--config", path};
    args.insert(args.end(), flags.begin(), flags.end());
    CommandLine cli;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    int code = parse_command_line(static_cast<int>(argv.size()), argv.data(), "v", cli);
    if (code >= 0) return fail("exit {}", code);
    return resolve(cli);
  }
  std::string file(std::string_view toml) {
    std::string path = (fs::path(tmp_.path()) / "hotalloc.toml").string();
    std::ofstream(path) << toml;
    return path;
  }
  target::testing::TempDir tmp_;
};

// A value of the setting's kind that its checks accept, as TOML.
std::string sample(const Setting& s) {
  std::string v;
  if (s.is_switch) v = "true";
  else if (s.name == "exe") v = "\"api=/usr/bin/api\"";
  else if (s.toml_kind == TomlKind::integer) v = s.name == "pid" ? "4242" : s.default_text.empty() ? "1000" : s.default_text;
  else v = "\"" + s.default_text + "\"";
  if (s.name == "match") v = "\"^api\"";
  return s.repeatable ? "[" + v + "]" : v;
}

TEST_F(ConfigTest, EverySettingIsAKeyAndAFlagWithTheSameValue) {
  for (const Setting& s : settings()) {
    SCOPED_TRACE(s.name);
    // "a.b.c = v" is a dotted key: TOML reads it as table a, table b, key c.
    std::string base = s.name == "discover" ? "" : "discover = true\n";
    auto from_file = load(fmt::format("{}{} = {}\n", base, s.name, sample(s)));
    ASSERT_TRUE(from_file) << from_file.error().message;
    std::string text = sample(s);
    if (s.repeatable) text = text.substr(1, text.size() - 2);
    if (!text.empty() && text.front() == '"') text = text.substr(1, text.size() - 2);
    auto from_flag = load(base, {"--" + s.name + "=" + text});
    ASSERT_TRUE(from_flag) << from_flag.error().message;
    EXPECT_TRUE(s.equal(*from_file, *from_flag));
  }
}

TEST_F(ConfigTest, NoSettingNameIsATableOfAnother) {
  // TOML cannot hold both "a.b = 1" and "a.b.c = 2".
  for (const Setting& a : settings())
    for (const Setting& b : settings()) EXPECT_FALSE(b.name.starts_with(a.name + ".")) << a.name << " / " << b.name;
}

TEST_F(ConfigTest, TablesAndDefaults) {
  auto o = load(R"(
exe = ["api=/usr/bin/api", "/srv/worker"]
pid = [1, 2]

[web]
listen-address = "127.0.0.1:18000"

[socket]
path = "/tmp/x.sock"
idle-timeout = "90s"
)");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->exes, (std::vector<std::string>{"api=/usr/bin/api", "/srv/worker"}));
  EXPECT_EQ(o->pids, (std::vector<int>{1, 2}));
  EXPECT_EQ(o->listen_address, "127.0.0.1:18000");
  EXPECT_EQ(o->socket_path, "/tmp/x.sock");
  EXPECT_EQ(o->socket_idle_timeout, std::chrono::seconds(90));
  EXPECT_EQ(o->telemetry_path, "/metrics");
  EXPECT_EQ(o->socket_max_request_bytes, 1u << 20);
}

TEST_F(ConfigTest, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string toml, want;
  };
  for (const Case& c : std::vector<Case>{
           {"discover = true\n\n[web]\nlisten-address = 17911\n", ":4: web.listen-address: expected a string"},
           {"discover = true\n[wbe]\nlisten-address = \":1\"\n", ":2: wbe: unknown key"},
           {"discover = true\ncolour = 1\n", ":2: colour: unknown key"},
           {"exe = [\"relative/path\"]\n", ":1: exe: \"relative/path\": the path must be absolute"},
           {"pid = 7\n", ""},  // a single value for a list is a list of one
           {"pid = [7, \"x\"]\n", ":1: pid: list of expected an integer"},
           {"discover = true\nlog.level = [\"info\"]\n", ":2: log.level: expected a string, not a list"},
           {"discover = true\n[log]\nlevel = \"loud\"\n", ":3: log.level: \"loud\" is not debug, info, warn or error"},
           {"discover = true\n[collect]\ninterval-ms = 5\n", ":3: collect.interval-ms: 5 is out of range (50 to 60000)"},
           {"discover = true\n[socket]\nidle-timeout = \"soon\"\n", ":3: socket.idle-timeout: \"soon\" is not a duration"},
           {"discover = true\nmatch = [\"(\"]\n", ":2: match: \"(\" is not a regular expression"},
           {"discover = true\n[socket\n", ":2:8: "},
       }) {
    SCOPED_TRACE(c.toml);
    auto o = load(c.toml);
    if (c.want.empty()) {
      EXPECT_TRUE(o) << o.error().message;
      continue;
    }
    ASSERT_FALSE(o);
    EXPECT_NE(o.error().message.find("hotalloc.toml" + c.want), std::string::npos) << o.error().message;
  }
}

TEST_F(ConfigTest, FlagsWinOverTheFileAndAreCheckedTheSameWay) {
  auto o = load("exe = [\"/srv/a\"]\n[log]\nlevel = \"debug\"\n", {"--log.level", "warn", "--exe", "/srv/b"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->log_level, "warn");
  EXPECT_EQ(o->exes, std::vector<std::string>{"/srv/b"});

  auto bad = load("discover = true\n", {"--log.level", "loud"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--log.level: \"loud\" is not debug, info, warn or error");
  auto alias = load("discover = true\n", {"--socket", "/tmp/s.sock"});
  ASSERT_TRUE(alias) << alias.error().message;
  EXPECT_EQ(alias->socket_path, "/tmp/s.sock");
}

TEST_F(ConfigTest, NeedsSomethingToTraceAndMatchNeedsDiscover) {
  auto empty = load("");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("nothing to trace"), std::string::npos);
  auto match = load("pid = [1]\nmatch = [\"api\"]\n");
  ASSERT_FALSE(match);
  EXPECT_NE(match.error().message.find("needs discover"), std::string::npos);
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  CommandLine cli;
  cli.config_path = (fs::path(tmp_.path()) / "absent.toml").string();
  auto o = resolve(cli);
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("absent.toml"), std::string::npos) << o.error().message;
}

TEST_F(ConfigTest, ChangedSettingsAndWhichReload) {
  Options a;
  Options b = a;
  b.exes = {"/srv/a"};
  b.listen_address = ":1";
  b.log_level = "debug";
  std::vector<std::string> names;
  for (const Setting* s : changed_settings(a, b)) names.push_back(s->name + (s->reloadable ? "+" : "-"));
  EXPECT_EQ(names, (std::vector<std::string>{"exe+", "web.listen-address-", "log.level+"}));
}

TEST(ConfigDuration, ParsesAndShows) {
  using D = Value<std::chrono::milliseconds>;
  EXPECT_EQ(D::parse("250ms").value(), std::chrono::milliseconds(250));
  EXPECT_EQ(D::parse("60s").value(), std::chrono::seconds(60));
  EXPECT_EQ(D::parse("5m").value(), std::chrono::minutes(5));
  EXPECT_EQ(D::parse("2h").value(), std::chrono::hours(2));
  for (const char* bad : {"", "s", "10", "-1s", "1.5s", "1d", "99999999999999999999h"}) EXPECT_FALSE(D::parse(bad)) << bad;
  EXPECT_EQ(D::show(std::chrono::seconds(60)), "1m");
  EXPECT_EQ(D::show(std::chrono::milliseconds(1500)), "1500ms");
  EXPECT_EQ(D::show(std::chrono::seconds(45)), "45s");
}

}  // namespace
}  // namespace hotalloc::config
