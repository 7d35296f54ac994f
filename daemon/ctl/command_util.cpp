#include "ctl/command_util.h"

namespace hotalloc::ctl {

using nlohmann::json;

CLI::App* subcommand(CLI::App& app, Invocation& chosen, const std::string& name, const std::string& about,
                     Render render, std::function<json()> params) {
  CLI::App* sub = app.add_subcommand(name, about);
  sub->callback([&chosen, name, render = std::move(render), params = std::move(params)] {
    chosen = {name, params ? params() : json::object(), render};
  });
  return sub;
}

std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->dump() : "-";
}

const json& list(const json& j, const char* key) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

}  // namespace hotalloc::ctl
