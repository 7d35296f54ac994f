// A child process with pipes, for driving Go test programs and the daemon.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace hotalloc::testing {

class ChildProcess {
 public:
  struct Options {
    bool pipe_stdin = true;
    bool pipe_stdout = true;
    std::string stderr_path;  // empty: inherit
  };
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv, Options options);
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv) { return spawn(argv, Options{}); }

  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();  // kills (SIGKILL) and reaps if still running

  pid_t pid() const { return pid_; }
  Status write_line(const std::string& line);
  // Next line of stdout, without its newline; nullopt on EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Waits for the child to exit on its own; returns the wait status.
  int wait();
  // Sends `sig` and waits for exit; returns the wait status.
  int stop(int sig, std::chrono::milliseconds timeout);
  bool running();

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string buffer_;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace hotalloc::testing
