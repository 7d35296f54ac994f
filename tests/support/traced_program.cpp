#include "support/traced_program.h"

#include <unistd.h>

#include "support/env.h"

namespace hotalloc::testing {

using nlohmann::json;
using namespace std::chrono_literals;

void TracedProgram::start(const std::vector<std::string>& args) {
  HOTALLOC_REQUIRE(geteuid() == 0, "needs root to load BPF programs and attach uprobes");
  auto bin = go_target(program(), build().version, build().mode);
  ASSERT_TRUE(bin) << bin.error().message;
  auto prog = ChildProcess::spawn({*bin});
  ASSERT_TRUE(prog) << prog.error().message;
  prog_.emplace(std::move(*prog));
  auto hello = prog_->read_line(10s);
  ASSERT_TRUE(hello && hello->starts_with("ready ")) << program() << " did not start";
  std::vector<std::string> argv = {"--pid", std::to_string(prog_->pid())};
  argv.insert(argv.end(), args.begin(), args.end());
  auto d = DaemonHarness::start(argv);
  ASSERT_TRUE(d) << d.error().message;
  daemon_ = std::move(*d);
  target_ = wait_attached(*daemon_);
  ASSERT_FALSE(target_.empty());
}

json TracedProgram::command(const std::string& line, std::chrono::milliseconds timeout) {
  EXPECT_TRUE(prog_->write_line(line));
  auto out = prog_->read_line(timeout);
  EXPECT_TRUE(out) << program() << " did not answer " << line;
  return out ? json::parse(*out) : json();
}

Result<json> TracedProgram::wait_map(const std::string& function, const std::function<bool(const json&)>& pred) {
  auto r = daemon_->wait_for("maps", {{"target", target_}}, [&](const json& res) {
    for (const json& m : res.at("maps"))
      if (m.at("function") == function && pred(m)) return true;
    return false;
  }, 15s);
  if (!r) return r;
  for (const json& m : r->at("maps"))
    if (m.at("function") == function && pred(m)) return m;
  return fail("no map");
}

}  // namespace hotalloc::testing
