// Recoverable errors are values: every fallible call returns Result<T>, and
// only main() decides to exit. libbpf's -errno/NULL conventions and errno
// are converted to Error once, at the wrapper that calls them.
#pragma once

#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace hotalloc {

struct Error {
  std::string message;
  int err = 0;  // errno-style code when the cause was a system call, else 0

  // Prefixes context, innermost cause last: "attach pid 12: open /proc/12/exe: No such file".
  Error context(std::string_view what) const& {
    return Error{fmt::format("{}: {}", what, message), err};
  }
};

template <typename T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

template <typename... Args>
std::unexpected<Error> fail(fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error{fmt::format(f, std::forward<Args>(args)...), 0});
}

// An error from a failed system call; appends strerror(err).
std::unexpected<Error> fail_errno(int err, std::string_view what);

inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }

}  // namespace hotalloc
