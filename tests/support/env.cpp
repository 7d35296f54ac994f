#include "support/env.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace hotalloc::testing {

bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string_view(ci) == "true";
}

std::vector<std::string> env_words(const char* var, const char* fallback) {
  std::vector<std::string> out;
  const char* env = std::getenv(var);
  std::istringstream in(env && *env ? env : fallback);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<std::string> go_versions() { return env_words("HOTALLOC_GO_VERSIONS", "1.19 1.26"); }

std::string source_dir() { return HOTALLOC_SOURCE_DIR; }
std::string build_dir() { return HOTALLOC_BUILD_DIR; }

Result<std::string> run_capture(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return fail_errno(errno, "popen " + command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail("command failed (status {}): {}", status, command);
  return out;
}

namespace {
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

Result<std::string> go_target(std::string_view name, std::string_view version, std::string_view mode) {
  auto out = run_capture(fmt::format("'{}/tools/go-build-target.sh' '{}' '{}' '{}'", source_dir(), name,
                                     version, mode));
  if (!out) return fail(out.error().context(fmt::format("build Go target {} with Go {} ({})", name, version, mode)));
  return trim(*out);
}

Result<std::string> go_command(std::string_view version) {
  auto root = run_capture(fmt::format("'{}/tools/go-toolchain.sh' '{}'", source_dir(), version));
  if (!root) return fail(root.error().context(fmt::format("Go {} toolchain", version)));
  const char* cache = std::getenv("HOTALLOC_CACHE");
  return fmt::format("GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOCACHE='{}/gocache/{}' '{}/bin/go'",
                     cache && *cache ? cache : "/var/cache/hotalloc", version, trim(*root));
}

Result<std::string> go_tool(std::string_view version) {
  auto go = go_command(version);
  if (!go) return go;
  return *go + " tool";
}

Result<std::string> fetched_tree(std::string_view name, const std::vector<std::string>& packages) {
  std::string cmd = fmt::format("'{}/tools/fetch-deb.sh' '{}'", source_dir(), name);
  for (const auto& p : packages) cmd += " '" + p + "'";
  auto out = run_capture(cmd);
  if (!out) return fail(out.error().context(fmt::format("fetch {}", name)));
  return trim(*out);
}

long proc_status_kib(int pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':')
      return std::stol(line.substr(field.size() + 1));
  return -1;
}

ProgramCopies::ProgramCopies(const std::string& tag)
    : dir_(std::filesystem::temp_directory_path() / ("hotalloc-" + tag + "-" + std::to_string(getpid()))) {
  std::filesystem::create_directories(dir_);
}

ProgramCopies::~ProgramCopies() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string ProgramCopies::add(const std::string& bin, const std::string& name) {
  std::filesystem::copy_file(bin, dir_ / name, std::filesystem::copy_options::overwrite_existing);
  return dir_ / name;
}

}  // namespace hotalloc::testing
