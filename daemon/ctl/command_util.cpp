#include "ctl/command_util.h"

#include <csignal>
#include <iostream>

#include "ctl/client.h"

namespace hotalloc::ctl {

using nlohmann::json;

namespace {

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

void install_stop_handler() {
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
}

bool stop_requested() { return g_stop != 0; }

CLI::App* subcommand(CLI::App& app, Invocation& chosen, const std::string& name, const std::string& about,
                     Render render, std::function<json()> params) {
  CLI::App* sub = app.add_subcommand(name, about);
  sub->callback([&chosen, name, render = std::move(render), params = std::move(params)] {
    chosen = {name, params ? params() : json::object(), render};
  });
  return sub;
}

json with_target(json params, const std::string& target) {
  if (!target.empty()) params["target"] = target;
  return params;
}

std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->dump() : "-";
}

uint64_t count_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() && *it >= 0 ? it->get<uint64_t>() : 0;
}

const json& list(const json& j, const char* key) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

int report(const Error& e) {
  std::cerr << "hotallocctl: " << e.message << '\n';
  return exit_code(e);
}

int report(const api::ApiError& e, bool json_out) {
  if (json_out) std::cout << api::to_json(e).dump(2, ' ', false, json::error_handler_t::replace) << '\n';
  std::cerr << "hotallocctl: " << api::to_string(e.code) << ": " << e.message << '\n';
  return exit_code(e.code);
}

std::optional<json> call_once(const std::string& socket, std::chrono::milliseconds timeout,
                              const std::string& method, const json& params, bool json_out, int& code) {
  auto client = Client::connect(socket, timeout);
  if (!client) {
    code = report(client.error());
    return std::nullopt;
  }
  auto reply = client->call(method, params);
  if (!reply) {
    code = report(reply.error());
    return std::nullopt;
  }
  if (!reply->ok()) {
    code = report(reply->outcome.error(), json_out);
    return std::nullopt;
  }
  return *reply->outcome;
}

}  // namespace hotalloc::ctl
