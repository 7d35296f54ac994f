#include "config/setting.h"

namespace hotalloc::config {

std::string_view to_string(TomlKind k) {
  switch (k) {
    case TomlKind::string: return "a string";
    case TomlKind::integer: return "an integer";
    case TomlKind::boolean: return "true or false";
  }
  return "?";
}

Result<std::chrono::milliseconds> Value<std::chrono::milliseconds>::parse(std::string_view s) {
  struct Unit {
    std::string_view suffix;
    int64_t ms;
  };
  // "ms" before "s" and "m", which are its suffixes too.
  static constexpr Unit units[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
  for (const Unit& u : units) {
    if (!s.ends_with(u.suffix)) continue;
    std::string_view digits = s.substr(0, s.size() - u.suffix.size());
    int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || n < 0 ||
        n > INT64_MAX / u.ms)
      break;
    return std::chrono::milliseconds(n * u.ms);
  }
  return fail("\"{}\" is not a duration (a whole number with ms, s, m or h, like 60s)", s);
}

std::string Value<std::chrono::milliseconds>::show(std::chrono::milliseconds v) {
  int64_t ms = v.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::function<Status(const std::string&)> one_of(std::initializer_list<std::string_view> allowed) {
  std::vector<std::string> names(allowed.begin(), allowed.end());
  return [names](const std::string& v) -> Status {
    for (const auto& n : names)
      if (v == n) return {};
    std::string list;
    for (size_t i = 0; i < names.size(); i++)
      list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return fail("\"{}\" is not {}", v, list);
  };
}

}  // namespace hotalloc::config
