#include "util/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include <bpf/libbpf.h>
#include <fmt/chrono.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>

namespace hotalloc::logging {
namespace {

enum class Format { logfmt, json };

// True when stderr is the journal stream systemd handed us ($JOURNAL_STREAM
// is "DEV:INODE" of that stream), so lines need <N> prefixes, not timestamps.
bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == st.st_dev && ino == st.st_ino;
}

int syslog_priority(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::critical: return 2;
    case spdlog::level::err: return 3;
    case spdlog::level::warn: return 4;
    case spdlog::level::info: return 6;
    default: return 7;
  }
}

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::critical: return "critical";
    case spdlog::level::err: return "error";
    case spdlog::level::warn: return "warn";
    case spdlog::level::info: return "info";
    case spdlog::level::debug: return "debug";
    default: return "trace";
  }
}

// logfmt value: bare when it is a simple token, otherwise quoted with escapes.
void append_logfmt_value(std::string& out, std::string_view v) {
  bool bare = !v.empty();
  for (char ch : v) {
    if (ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || static_cast<unsigned char>(ch) >= 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char ch : v) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(ch) < ' ') out += fmt::format("\\x{:02x}", static_cast<unsigned>(ch));
        else out.push_back(ch);
    }
  }
  out.push_back('"');
}

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StderrSink(Format f, bool journal) : format_(f), journal_(journal) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    std::string_view component(msg.logger_name.data(), msg.logger_name.size());
    std::string line;
    if (journal_) line += fmt::format("<{}>", syslog_priority(msg.level));
    if (format_ == Format::json) {
      nlohmann::json j;
      if (!journal_) j["ts"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time)));
      j["level"] = level_name(msg.level);
      if (!component.empty()) j["component"] = component;
      j["msg"] = text;
      line += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      if (!journal_) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
        line += fmt::format("ts={:%Y-%m-%dT%H:%M:%S}.{:03d}Z ",
                            fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time)), ms);
      }
      line += "level=";
      line += level_name(msg.level);
      if (!component.empty()) {
        line += " component=";
        append_logfmt_value(line, component);
      }
      line += " msg=";
      append_logfmt_value(line, text);
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  Format format_;
  bool journal_;
};

std::shared_ptr<spdlog::sinks::sink> g_sink;

int libbpf_print(enum libbpf_print_level level, const char* fmt_str, va_list args) {
  // libbpf's debug level narrates every relocation; it is only wanted when
  // debugging libbpf itself (HOTALLOC_LIBBPF_DEBUG=1).
  static const bool libbpf_debug = std::getenv("HOTALLOC_LIBBPF_DEBUG") != nullptr;
  if (level == LIBBPF_DEBUG && !libbpf_debug) return 0;
  auto lg = spdlog::get("libbpf");
  if (!lg) return 0;
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof buf, fmt_str, args);
  std::string_view s(buf, n < 0 ? 0 : std::min<size_t>(n, sizeof buf - 1));
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  lg->log(level == LIBBPF_WARN ? spdlog::level::warn : spdlog::level::debug, "{}", s);
  return 0;
}

Result<spdlog::level::level_enum> parse_level(std::string_view level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return fail("unknown log level \"{}\" (expected debug, info, warn or error)", level);
}

}  // namespace

Status setup(std::string_view level, std::string_view format) {
  auto lvl = parse_level(level);
  if (!lvl) return std::unexpected(lvl.error());
  Format f;
  if (format == "logfmt") f = Format::logfmt;
  else if (format == "json") f = Format::json;
  else return fail("unknown log format \"{}\" (expected logfmt or json)", format);

  g_sink = std::make_shared<StderrSink>(f, stderr_is_journal());
  spdlog::drop_all();
  auto def = std::make_shared<spdlog::logger>("", g_sink);
  spdlog::set_default_logger(def);
  spdlog::set_level(*lvl);
  get("libbpf");
  libbpf_set_print(libbpf_print);
  return {};
}

Status set_level(std::string_view level) {
  auto lvl = parse_level(level);
  if (!lvl) return std::unexpected(lvl.error());
  spdlog::set_level(*lvl);
  return {};
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  // Loggers are created lazily from any thread; registration must not race.
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto lg = spdlog::get(component)) return lg;
  if (!g_sink) g_sink = std::make_shared<StderrSink>(Format::logfmt, false);
  auto lg = std::make_shared<spdlog::logger>(component, g_sink);
  lg->set_level(spdlog::get_level());
  spdlog::register_logger(lg);
  return lg;
}

}  // namespace hotalloc::logging
