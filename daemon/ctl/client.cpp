#include "ctl/client.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace hotalloc::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// A status with hundreds of targets is a few MiB; anything far beyond is
// not a hotallocd talking.
constexpr size_t kMaxReplyBytes = 64u << 20;

std::unexpected<Error> failure(int err, std::string message) {
  return std::unexpected(Error{std::move(message), err});
}

}  // namespace

int exit_code(const Error& e) {
  switch (e.err) {
    case EACCES:
    case EPERM: return kExitNoPermission;
    case EPROTO: return kExitProtocol;
    case EINVAL: return kExitUsage;
    default: return kExitUnavailable;
  }
}

int exit_code(api::ErrorCode code) {
  switch (code) {
    case api::ErrorCode::unsupported_version: return kExitProtocol;
    case api::ErrorCode::permission_denied: return kExitNoPermission;
    default: return kExitErrorReply;
  }
}

Result<Client> Client::connect(const std::string& path, std::chrono::milliseconds timeout) {
  auto addr = api::unix_address(path);
  if (!addr) return failure(EINVAL, addr.error().message);
  api::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno(errno, "socket");
  Clock::time_point deadline = Clock::now() + timeout;
  // A Unix socket connects at once or, with the daemon's backlog full, says
  // EAGAIN and must be retried: it cannot be waited for with poll().
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      int err = errno;
      std::string hint = err == EACCES || err == EPERM
                             ? " (run as root or as a member of group hotalloc)"
                             : " (is hotallocd running? see --socket and $HOTALLOC_SOCKET)";
      return failure(err, fmt::format("cannot connect to {}: {}{}", path, std::strerror(err), hint));
    }
    if (Clock::now() >= deadline) return failure(ETIMEDOUT, fmt::format("{}: daemon's backlog stayed full", path));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  Client c(std::move(fd), path, deadline);
  auto line = c.read_line();
  if (!line) return std::unexpected(line.error());
  auto hello = api::parse_hello(*line);
  if (!hello) {
    // A daemon at its client limit answers with an error instead of a greeting.
    if (auto refusal = api::parse_reply(*line); refusal && !refusal->ok()) {
      const api::ApiError& e = refusal->outcome.error();
      return failure(e.code == api::ErrorCode::busy ? EBUSY : EPROTO,
                     fmt::format("{} refused the connection: {}: {}", path, api::to_string(e.code), e.message));
    }
    return failure(EPROTO, fmt::format("{} did not greet like hotallocd: {}", path, hello.error().message));
  }
  if (std::ranges::find(hello->protocols, api::kProtocolVersion) == hello->protocols.end()) {
    return failure(EPROTO, fmt::format("{} speaks protocol versions {}, hotallocctl speaks {}", path,
                                       hello->protocols, api::kProtocolVersion));
  }
  return c;
}

Result<api::Reply> Client::call(const std::string& method, const nlohmann::json& params) {
  last_id_ = next_id_++;
  nlohmann::json request = {{"v", api::kProtocolVersion}, {"id", last_id_}, {"method", method}, {"params", params}};
  if (auto st = write_all(request.dump() + "\n"); !st) return std::unexpected(st.error());
  return read_reply();
}

Result<api::Reply> Client::next() { return read_reply(); }

Result<api::Reply> Client::read_reply() {
  auto line = read_line();
  if (!line) return std::unexpected(line.error());
  auto reply = api::parse_reply(*line);
  if (!reply) return failure(EPROTO, fmt::format("bad reply from {}: {}", path_, reply.error().message));
  if (reply->id != last_id_)
    return failure(EPROTO, fmt::format("reply to request {} came back for {}", last_id_, reply->id.dump()));
  return reply;
}

int Client::remaining_ms() const {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
}

Result<std::string> Client::read_line() {
  for (;;) {
    if (auto line = in_.next_line()) return *line;
    if (in_.head_size() > kMaxReplyBytes) return failure(EPROTO, "reply line too long");
    pollfd p{fd_.get(), POLLIN, 0};
    int ready = poll(&p, 1, remaining_ms());
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return fail_errno(errno, "poll");
    if (ready == 0) return failure(ETIMEDOUT, fmt::format("no answer from {} in time (see --timeout)", path_));
    char buf[64 * 1024];
    ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n > 0) {
      in_.append({buf, static_cast<size_t>(n)});
    } else if (n == 0) {
      // Half a line and then silence is garbage; no line at all is a daemon
      // that went away (stopped, or closed us as idle).
      if (!in_.empty()) return failure(EPROTO, fmt::format("{} sent an unterminated line", path_));
      return failure(ECONNRESET, fmt::format("{} closed the connection", path_));
    } else if (errno != EINTR && errno != EAGAIN) {
      return fail_errno(errno, "read from " + path_);
    }
  }
}

Status Client::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return fail_errno(errno, "write to " + path_);
    pollfd p{fd_.get(), POLLOUT, 0};
    int ready = poll(&p, 1, remaining_ms());
    if (ready == 0) return failure(ETIMEDOUT, fmt::format("{} does not read its requests", path_));
    if (ready < 0 && errno != EINTR) return fail_errno(errno, "poll");
  }
  return {};
}

}  // namespace hotalloc::ctl
