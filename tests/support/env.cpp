#include "support/env.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
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

Result<std::string> go_root(std::string_view version) {
  auto root = run_capture(fmt::format("'{}/tools/go-toolchain.sh' '{}'", source_dir(), version));
  if (!root) return fail(root.error().context(fmt::format("Go {} toolchain", version)));
  return trim(*root);
}

Result<std::string> go_command(std::string_view version, std::string_view gocache) {
  auto root = go_root(version);
  if (!root) return root;
  std::string cache_dir(gocache);
  if (cache_dir.empty()) {
    const char* cache = std::getenv("HOTALLOC_CACHE");
    cache_dir = fmt::format("{}/gocache/{}", cache && *cache ? cache : "/var/cache/hotalloc", version);
  }
  return fmt::format("GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOCACHE='{}' '{}/bin/go'", cache_dir, *root);
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

int open_fds(int pid) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    (void)e;
    n++;
  }
  return n;
}

bool built_with_asan() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

bool memory_bound_applies(const std::string& what) {
  if (!built_with_asan()) return true;
  const std::string why = what + " not checked: built with AddressSanitizer, whose quarantine and shadow memory "
                                 "make the daemon's memory figures meaningless (LeakSanitizer checks it instead)";
  ::testing::Test::RecordProperty("memory_bound_unchecked", why);
  std::cout << why << "\n";
  return false;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(interval);
  }
  return pred();
}

std::string regex_literal(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

TempDir::TempDir(const std::filesystem::path& prefix) {
  std::error_code ec;
  std::filesystem::create_directories(prefix.parent_path(), ec);
  std::string tmpl = prefix.string() + "-XXXXXX";
  if (mkdtemp(tmpl.data())) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

ProgramCopies::ProgramCopies(const std::string& tag)
    : tmp_(std::filesystem::temp_directory_path() / ("hotalloc-" + tag)), dir_(tmp_.path()) {}

std::string ProgramCopies::add(const std::string& bin, const std::string& name) {
  if (dir_.empty()) throw std::runtime_error("no directory for program copies (mkdtemp failed)");
  std::filesystem::copy_file(bin, dir_ / name, std::filesystem::copy_options::overwrite_existing);
  return dir_ / name;
}

}  // namespace hotalloc::testing
