#include "exporter/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

#include "exporter/family.h"

namespace hotalloc::exporter {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Whitespace-separated words of S.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    i = s.find_first_not_of(" \t\n", i);
    if (i == std::string_view::npos) break;
    size_t j = s.find_first_of(" \t\n", i);
    if (j == std::string_view::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// The numbers of /proc/PID/stat we need, see proc(5).
struct Stat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // since boot
  uint64_t vsize_bytes = 0;
  uint64_t rss_pages = 0;
};

std::optional<Stat> parse_stat(std::string_view text) {
  // comm (field 2) is in parentheses and may itself hold spaces and ')', so
  // fields are counted from after the last ')': field 3 (state) is index 0.
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  auto f = words(text.substr(close + 1));
  auto field = [&](size_t n) { return f.size() > n - 3 ? to_u64(f[n - 3]) : std::nullopt; };
  auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return Stat{*utime, *stime, *start, *vsize, *rss};
}

// "btime SECONDS" in /proc/stat: when the system booted, in Unix time.
std::optional<uint64_t> boot_time(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    auto w = words(text.substr(pos, eol - pos));
    if (w.size() == 2 && w[0] == "btime") return to_u64(w[1]);
    pos = eol + 1;
  }
  return std::nullopt;
}

// The soft "Max open files" limit of /proc/PID/limits.
std::optional<uint64_t> max_open_files(std::string_view text) {
  constexpr std::string_view kKey = "Max open files";
  size_t at = text.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  size_t eol = text.find('\n', at);
  auto w = words(text.substr(at + kKey.size(), eol == std::string_view::npos ? eol : eol - at - kKey.size()));
  return w.empty() ? std::nullopt : to_u64(w[0]);
}

std::optional<uint64_t> open_fds(const std::string& fd_dir) {
  DIR* d = opendir(fd_dir.c_str());
  if (!d) return std::nullopt;
  // Reading our own fd directory lists the descriptor doing the reading; it
  // is not one the process holds open otherwise.
  const std::string own = std::to_string(dirfd(d));
  uint64_t n = 0;
  while (const dirent* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != ".." && name != own) n++;
  }
  closedir(d);
  return n;
}

MetricFamily single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f = make_family(std::move(name), std::move(help), type);
  add_sample(f, value);
  return f;
}

}  // namespace

std::vector<MetricFamily> process_families(const std::string& proc_root) {
  std::vector<MetricFamily> out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto stat_text = read_text(proc_root + "/self/stat");
  if (auto st = stat_text ? parse_stat(*stat_text) : std::nullopt) {
    out.push_back(single("process_cpu_seconds_total", "User and system CPU time this process has used, in seconds.",
                         MetricType::Counter, static_cast<double>(st->utime_ticks + st->stime_ticks) / ticks));
    out.push_back(single("process_resident_memory_bytes", "Resident set size of this process, in bytes.",
                         MetricType::Gauge,
                         static_cast<double>(st->rss_pages) * static_cast<double>(sysconf(_SC_PAGESIZE))));
    out.push_back(single("process_virtual_memory_bytes", "Virtual memory size of this process, in bytes.",
                         MetricType::Gauge, static_cast<double>(st->vsize_bytes)));
    const auto global = read_text(proc_root + "/stat");
    if (auto boot = global ? boot_time(*global) : std::nullopt) {
      out.push_back(single("process_start_time_seconds", "When this process started, in seconds since the Unix epoch.",
                           MetricType::Gauge, static_cast<double>(*boot) + static_cast<double>(st->start_ticks) / ticks));
    }
  }
  if (auto n = open_fds(proc_root + "/self/fd")) {
    out.push_back(single("process_open_fds", "File descriptors this process has open.", MetricType::Gauge,
                         static_cast<double>(*n)));
  }
  const auto limits = read_text(proc_root + "/self/limits");
  if (auto max = limits ? max_open_files(*limits) : std::nullopt) {
    out.push_back(single("process_max_fds", "The most file descriptors this process may open (soft limit).",
                         MetricType::Gauge, static_cast<double>(*max)));
  }
  return out;
}

}  // namespace hotalloc::exporter
