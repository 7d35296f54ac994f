// Logging for the daemon, on spdlog.
//
// What the levels mean here:
//   error  something hotalloc was asked to do does not work (a target cannot be
//          traced, a listener cannot bind); the operator should act.
//   warn   degraded but working (a probe fell back to a slower site, a reload
//          was rejected and the old config kept, events were dropped).
//   info   lifecycle: start, ready, targets attached and gone, reloads, stop.
//   debug  per-probe placement, libbpf's own messages, protocol traffic.
//
// Output goes to stderr as logfmt (default) or JSON lines. Under journald
// (stderr is the stream named by $JOURNAL_STREAM) timestamps are dropped and
// every line carries a <N> syslog priority prefix instead.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

#include "util/result.h"

namespace hotalloc::logging {

// Installs the sink and level; returns an error naming a bad value.
Status setup(std::string_view level, std::string_view format);

// Changes the level at runtime (config reload).
Status set_level(std::string_view level);

// A logger for one component ("target", "probes", "api", ...); its name
// appears as component=NAME in each line.
std::shared_ptr<spdlog::logger> get(const std::string& component);

}  // namespace hotalloc::logging
