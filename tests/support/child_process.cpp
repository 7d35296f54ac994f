#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

extern char** environ;

namespace hotalloc::testing {

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv, Options options) {
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if (options.pipe_stdin && pipe2(in, O_CLOEXEC)) return fail_errno(errno, "pipe");
  if (options.pipe_stdout && pipe2(out, O_CLOEXEC)) return fail_errno(errno, "pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (options.pipe_stdin) posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  if (options.pipe_stdout) posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  if (!options.stderr_path.empty())
    posix_spawn_file_actions_addopen(&fa, 2, options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The child must not inherit a blocked signal mask from the test runner.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int err = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (options.pipe_stdin) close(in[0]);
  if (options.pipe_stdout) close(out[1]);
  if (err) {
    if (options.pipe_stdin) close(in[1]);
    if (options.pipe_stdout) close(out[0]);
    return fail_errno(err, "spawn " + argv[0]);
  }
  ChildProcess c;
  c.pid_ = pid;
  c.in_ = options.pipe_stdin ? in[1] : -1;
  c.out_ = options.pipe_stdout ? out[0] : -1;
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      in_(std::exchange(o.in_, -1)),
      out_(std::exchange(o.out_, -1)),
      buffer_(std::move(o.buffer_)),
      reaped_(o.reaped_),
      status_(o.status_) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (in_ >= 0) close(in_);
  if (out_ >= 0) close(out_);
}

Status ChildProcess::write_line(const std::string& line) {
  std::string l = line + "\n";
  if (write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) return fail_errno(errno, "write to child");
  return {};
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, n);
  }
}

bool ChildProcess::running() {
  if (reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

int ChildProcess::wait() {
  if (!reaped_ && waitpid(pid_, &status_, 0) == pid_) reaped_ = true;
  return status_;
}

int ChildProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (!running()) return status_;
  kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  return status_;
}

}  // namespace hotalloc::testing
