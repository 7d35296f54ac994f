// hotallocctl's subcommands. Each is one function that adds its CLI11
// subcommand and, when that subcommand is chosen, says which method to call
// with which params and how to show the result to people. A new subcommand
// is one more such function, listed in kCommands.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace hotalloc::ctl {

// Prints a method's result for people; --json bypasses it. May throw
// nlohmann::json::exception on a result of an unexpected shape.
using Render = std::function<void(const nlohmann::json& result, std::ostream& os, bool color)>;

struct Invocation {
  std::string method;
  nlohmann::json params = nlohmann::json::object();
  Render render;
};

using AddCommand = void (*)(CLI::App& app, Invocation& chosen);

void add_status(CLI::App& app, Invocation& chosen);
void add_targets(CLI::App& app, Invocation& chosen);
void add_sizeclasses(CLI::App& app, Invocation& chosen);

inline constexpr AddCommand kCommands[] = {add_status, add_targets, add_sizeclasses};

}  // namespace hotalloc::ctl
