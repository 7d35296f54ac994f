#include "target/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>

namespace hotalloc::target {

namespace {

// Field 22 of /proc/PID/stat; fields are counted from 1 and the two before
// the state are "pid (comm)".
constexpr int kStartTimeField = 22;
constexpr int kStateField = 3;

struct Stat {
  std::string comm;
  uint64_t start_time = 0;
};

Result<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "open " + path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail_errno(err, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool vanished(int err) { return err == ENOENT || err == ESRCH; }

Result<Stat> parse_stat(std::string_view text) {
  // comm may itself contain spaces and parentheses: it ends at the last ')'.
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return fail("malformed stat line");
  Stat st{std::string(text.substr(open + 1, close - open - 1))};
  std::string_view rest = text.substr(close + 1);
  int field = kStateField - 1;
  while (!rest.empty()) {
    rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
    auto token = rest.substr(0, rest.find(' '));
    if (token.empty()) break;
    if (++field == kStartTimeField) {
      auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), st.start_time);
      if (ec != std::errc() || ptr != token.data() + token.size()) return fail("malformed start time \"{}\"", token);
      return st;
    }
    rest.remove_prefix(token.size());
  }
  return fail("stat line has no start time (field {})", kStartTimeField);
}

}  // namespace

ProcFs::ProcFs(std::string root) : root_(std::move(root)) {}

std::string ProcFs::exe_link(int pid) const { return fmt::format("{}/{}/exe", root_, pid); }

Result<ProcessIdentity> ProcFs::identity(int pid) const {
  auto read_stat = [&]() -> Result<Stat> {
    std::string path = fmt::format("{}/{}/stat", root_, pid);
    auto text = read_small_file(path);
    if (!text) {
      if (vanished(text.error().err)) return fail("process {} does not exist", pid);
      return fail(text.error());
    }
    auto st = parse_stat(*text);
    if (!st) return fail(st.error().context(path));
    return st;
  };

  auto before = read_stat();
  if (!before) return fail(before.error());
  ProcessIdentity id{pid, before->start_time, {}, 0, 0, std::move(before->comm)};

  // Kernel threads have no executable: readlink fails with ENOENT, as it
  // does for a process that exits meanwhile, which the second stat detects.
  std::string exe = exe_link(pid);
  char target[PATH_MAX];
  ssize_t n = ::readlink(exe.c_str(), target, sizeof target);
  if (n < 0 && !vanished(errno)) return fail_errno(errno, "readlink " + exe);
  if (n >= 0) {
    id.exe_path.assign(target, static_cast<size_t>(n));
    struct stat st {};
    if (::stat(exe.c_str(), &st) != 0) {
      if (!vanished(errno)) return fail_errno(errno, "stat " + exe);
      id.exe_path.clear();
    } else {
      id.exe = FileId{st.st_dev, st.st_ino};
    }
  }

  auto after = read_stat();
  if (!after) return fail(after.error());
  if (after->start_time != id.start_time)
    return fail("process {} exited and its pid was reused while it was being read", pid);
  return id;
}

std::vector<int> ProcFs::pids() const {
  std::vector<int> out;
  DIR* dir = ::opendir(root_.c_str());
  if (!dir) return out;
  while (const dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    int pid = 0;
    auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec == std::errc() && ptr == name.data() + name.size() && pid > 0) out.push_back(pid);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hotalloc::target
