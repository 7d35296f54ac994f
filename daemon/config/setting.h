// One declaration per setting gives its command-line flag (--NAME), its key
// in the config file (NAME, where dots are TOML tables: web.listen-address is
// `listen-address` in `[web]`), its help, its validation and whether a reload
// applies it. Both sources go through the same parse and check, so a value
// is accepted or refused the same way wherever it is written.
//
//   option("log.level", &Options::log_level, "debug, info, warn or error")
//       .check(one_of({"debug", "info", "warn", "error"})).reloadable()
#pragma once

#include <charconv>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "util/result.h"

namespace hotalloc::config {

struct Options;

// What the config file must hold for a setting (each element, for a list).
enum class TomlKind { string, integer, boolean };
std::string_view to_string(TomlKind k);

// A setting, type-erased: sources hand it text, it parses, checks and stores.
struct Setting {
  std::string name;                        // TOML key path and flag --NAME
  std::vector<std::string> flag_aliases;   // further flags, e.g. "--socket"
  std::string help;
  std::string type_name;                   // placeholder in --help: PATH, UID...
  TomlKind toml_kind = TomlKind::string;
  bool repeatable = false;                 // a list: repeat the flag, or a TOML array
  bool is_switch = false;                  // a flag without a value
  bool reloadable = false;                 // SIGHUP applies a change
  std::string default_text;                // for --help

  // Replaces the setting's value in `o` with `values` (exactly one unless
  // repeatable); an error says what is wrong with which value.
  std::function<Status(Options& o, const std::vector<std::string>& values)> assign;
  std::function<bool(const Options& a, const Options& b)> equal;
  std::function<void(Options& to, const Options& from)> copy;
};

// How a value type reads from text and which TOML kind holds it.
template <typename T>
struct Value;

template <>
struct Value<std::string> {
  static constexpr TomlKind kind = TomlKind::string;
  static Result<std::string> parse(std::string_view s) { return std::string(s); }
  static std::string show(const std::string& v) { return v; }
};

template <>
struct Value<bool> {
  static constexpr TomlKind kind = TomlKind::boolean;
  static Result<bool> parse(std::string_view s) {
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    return fail("\"{}\" is not true or false", s);
  }
  static std::string show(bool v) { return v ? "true" : "false"; }
};

template <typename T>
  requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
struct Value<T> {
  static constexpr TomlKind kind = TomlKind::integer;
  static Result<T> parse(std::string_view s) {
    T v{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) return fail("{} is out of range", s);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return fail("\"{}\" is not a whole number", s);
    return v;
  }
  static std::string show(T v) { return std::to_string(v); }
};

// Durations are written with a unit, as Prometheus does: "500ms", "60s",
// "5m", "1h".
template <>
struct Value<std::chrono::milliseconds> {
  static constexpr TomlKind kind = TomlKind::string;
  static Result<std::chrono::milliseconds> parse(std::string_view s);
  static std::string show(std::chrono::milliseconds v);
};

template <typename T>
struct ValueOf {
  using type = T;
  static constexpr bool list = false;
};
template <typename T>
struct ValueOf<std::vector<T>> {
  using type = T;
  static constexpr bool list = true;
};

// Builds a Setting for the field of Options of type T (a value, or a
// std::vector of values for a repeatable setting).
template <typename T>
class Declare {
 public:
  using Elem = typename ValueOf<T>::type;
  using Check = std::function<Status(const Elem&)>;

  Declare(std::string name, T Options::*field, std::string help) : field_(field) {
    s_.name = std::move(name);
    s_.help = std::move(help);
    s_.toml_kind = Value<Elem>::kind;
    s_.repeatable = ValueOf<T>::list;
    s_.is_switch = std::is_same_v<T, bool>;
  }
  Declare& type(std::string type_name) {
    s_.type_name = std::move(type_name);
    return *this;
  }
  Declare& alias(std::string flag) {
    s_.flag_aliases.push_back(std::move(flag));
    return *this;
  }
  Declare& reloadable() {
    s_.reloadable = true;
    return *this;
  }
  // Each value (each element of a list) must pass every check.
  Declare& check(Check c) {
    checks_.push_back(std::move(c));
    return *this;
  }

  // Finishes the declaration; `defaults` gives the --help default.
  Setting build(const Options& defaults) const {
    Setting s = s_;
    auto field = field_;
    auto checks = checks_;
    s.default_text = show(defaults.*field);
    s.assign = [field, checks, name = s.name](Options& o, const std::vector<std::string>& texts) -> Status {
      if (!ValueOf<T>::list && texts.size() != 1) return fail("takes one value, got {}", texts.size());
      T out{};
      for (const auto& text : texts) {
        auto v = Value<Elem>::parse(text);
        if (!v) return fail(v.error());
        for (const auto& c : checks)
          if (auto st = c(*v); !st) return fail(st.error());
        if constexpr (ValueOf<T>::list) {
          out.push_back(std::move(*v));
        } else {
          out = std::move(*v);
        }
      }
      o.*field = std::move(out);
      return {};
    };
    s.equal = [field](const Options& a, const Options& b) { return a.*field == b.*field; };
    s.copy = [field](Options& to, const Options& from) { to.*field = from.*field; };
    return s;
  }

 private:
  static std::string show(const T& v) {
    if constexpr (ValueOf<T>::list) {
      std::string out;
      for (const auto& e : v) out += (out.empty() ? "" : ",") + Value<Elem>::show(e);
      return out;
    } else {
      return Value<Elem>::show(v);
    }
  }

  Setting s_;
  T Options::*field_;
  std::vector<Check> checks_;
};

template <typename T>
Declare<T> option(std::string name, T Options::*field, std::string help) {
  return Declare<T>(std::move(name), field, std::move(help));
}

// Checks shared by several settings.
std::function<Status(const std::string&)> one_of(std::initializer_list<std::string_view> allowed);
template <typename T>
std::function<Status(const T&)> in_range(T lo, T hi) {
  return [lo, hi](const T& v) -> Status {
    if (v < lo || v > hi)
      return fail("{} is out of range ({} to {})", Value<T>::show(v), Value<T>::show(lo), Value<T>::show(hi));
    return {};
  };
}

}  // namespace hotalloc::config
