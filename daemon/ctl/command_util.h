// What hotallocctl's subcommands share: registering one, and reading the
// fields of a result leniently (a missing field shows as "" or "-").
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ctl/commands.h"

namespace hotalloc::ctl {

// Registers a subcommand whose choice fills `chosen`; params are read only
// then, after CLI11 has stored the options they come from.
CLI::App* subcommand(CLI::App& app, Invocation& chosen, const std::string& name, const std::string& about,
                     Render render, std::function<nlohmann::json()> params = nullptr);

std::string text(const nlohmann::json& j, const char* key);
std::string number(const nlohmann::json& j, const char* key);  // "-" when absent
const nlohmann::json& list(const nlohmann::json& j, const char* key);  // empty when absent

}  // namespace hotalloc::ctl
