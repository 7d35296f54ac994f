// hotallocctl's connection to the daemon: connect, check the greeting, send
// requests and read their replies, all within one deadline.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "api/protocol.h"
#include "api/unix_socket.h"
#include "util/result.h"

namespace hotalloc::ctl {

// Exit codes, from sysexits.h where one fits; --help lists them.
enum Exit : int {
  kExitOk = 0,
  kExitErrorReply = 1,  // the daemon answered with an error
  kExitUsage = 2,
  kExitUnavailable = 69,  // no socket, connection refused, no answer in time, busy
  kExitProtocol = 76,     // the other end does not speak our protocol
  kExitNoPermission = 77,
};

// The exit code for a failure to get an answer; the Error's err tells the
// kind (EACCES, EPROTO, ECONNREFUSED, EINVAL for a bad --socket, ...).
int exit_code(const Error& e);
// The exit code for an error reply.
int exit_code(api::ErrorCode code);

class Client {
 public:
  // Connects and reads the greeting. The timeout covers this and every call
  // after it: one deadline for the whole exchange.
  static Result<Client> connect(const std::string& path, std::chrono::milliseconds timeout);

  // Sends one request and waits for its reply. An error reply is a Reply
  // that is not ok; an Error means no reply could be had.
  Result<api::Reply> call(const std::string& method, const nlohmann::json& params);
  // The next reply to the request call() sent last, while its answer is a
  // stream whose last reply so far had "more":true.
  Result<api::Reply> next();

 private:
  Client(api::UniqueFd fd, std::string path, std::chrono::steady_clock::time_point deadline)
      : fd_(std::move(fd)), path_(std::move(path)), deadline_(deadline) {}
  Result<std::string> read_line();
  Status write_all(std::string_view bytes);
  int remaining_ms() const;
  Result<api::Reply> read_reply();

  api::UniqueFd fd_;
  std::string path_;
  std::chrono::steady_clock::time_point deadline_;
  api::LineBuffer in_;
  int64_t next_id_ = 1;
  int64_t last_id_ = 0;  // of the request sent last
};

}  // namespace hotalloc::ctl
