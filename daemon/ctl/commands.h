// hotallocctl's subcommands. Each is one function that adds its CLI11
// subcommand and, when that subcommand is chosen, says which method to call
// with which params and how to show the result to people. A new subcommand
// is one more such function, listed in kCommands.
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "util/result.h"

namespace hotalloc::ctl {

// Prints a method's result for people; --json bypasses it. May throw
// nlohmann::json::exception on a result of an unexpected shape.
using Render = std::function<void(const nlohmann::json& result, std::ostream& os, bool color)>;

// Takes each result of a streamed answer (pprof chunks), the last included,
// before that last one is rendered; an error stops the command (exit 1, or
// 76 when its err is EPROTO: a part the daemon should not have sent).
using TakePart = std::function<Status(const nlohmann::json& result)>;

// Commands that ask more than once (events --follow, hotkeys --for) run
// themselves, each call on a fresh connection; returns the exit code.
using Run = std::function<int(const std::string& socket, std::chrono::milliseconds timeout, bool json)>;

struct Invocation {
  std::string method;
  nlohmann::json params = nlohmann::json::object();
  Render render;
  TakePart take_part;  // set by commands whose method streams
  Run run;  // when set, replaces the single call of `method`
};

using AddCommand = void (*)(CLI::App& app, Invocation& chosen);

void add_status(CLI::App& app, Invocation& chosen);
void add_targets(CLI::App& app, Invocation& chosen);
void add_sizeclasses(CLI::App& app, Invocation& chosen);
void add_sites(CLI::App& app, Invocation& chosen);  // ctl/site_commands.cpp
void add_pprof(CLI::App& app, Invocation& chosen);
void add_maps(CLI::App& app, Invocation& chosen);  // ctl/map_commands.cpp
void add_hotkeys(CLI::App& app, Invocation& chosen);
void add_events(CLI::App& app, Invocation& chosen);
void add_advise(CLI::App& app, Invocation& chosen);  // ctl/advice_commands.cpp
void add_slices(CLI::App& app, Invocation& chosen);
void add_top(CLI::App& app, Invocation& chosen);  // ctl/top_command.cpp

inline constexpr AddCommand kCommands[] = {add_status, add_targets, add_sizeclasses, add_sites, add_pprof,
                                           add_maps,   add_hotkeys,  add_events,      add_advise, add_slices,
                                           add_top};

}  // namespace hotalloc::ctl
