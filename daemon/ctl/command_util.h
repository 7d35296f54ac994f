// What hotallocctl's subcommands share: registering one, and reading the
// fields of a result leniently (a missing field shows as "" or "-").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "api/protocol.h"
#include "ctl/commands.h"
#include "util/result.h"

namespace hotalloc::ctl {

// Registers a subcommand whose choice fills `chosen`; params are read only
// then, after CLI11 has stored the options they come from.
CLI::App* subcommand(CLI::App& app, Invocation& chosen, const std::string& name, const std::string& about,
                     Render render, std::function<nlohmann::json()> params = nullptr);

// `params` with "target" set when one is named.
nlohmann::json with_target(nlohmann::json params, const std::string& target);

std::string text(const nlohmann::json& j, const char* key);
std::string number(const nlohmann::json& j, const char* key);  // "-" when absent
const nlohmann::json& list(const nlohmann::json& j, const char* key);  // empty when absent
uint64_t count_of(const nlohmann::json& j, const char* key);  // 0 when absent or not a non-negative integer

// For commands that loop until interrupted (top, events --follow): SIGINT
// and SIGTERM then ask the loop to stop, so that it ends cleanly (restores
// the terminal, flushes what it printed) instead of the process dying.
void install_stop_handler();
bool stop_requested();

// Print a failure to get an answer, or an error reply (with json_out also
// as the error object on stdout), and return the exit code it calls for:
// main and the commands that ask more than once report alike.
int report(const Error& e);
int report(const api::ApiError& e, bool json_out);

// One request on a fresh connection, for commands that ask more than once;
// reports an error (see report) and sets `code` to the exit code it calls for.
std::optional<nlohmann::json> call_once(const std::string& socket, std::chrono::milliseconds timeout,
                                        const std::string& method, const nlohmann::json& params, bool json_out,
                                        int& code);

}  // namespace hotalloc::ctl
