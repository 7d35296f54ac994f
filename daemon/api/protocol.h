// The socket protocol, version 1: one JSON value per '\n'-terminated line.
//
//   server greets   {"v":1,"hello":{"server":"hotallocd","version":…,"protocols":[1],"methods":[…]}}
//   client asks     {"v":1,"id":7,"method":"status","params":{…}}
//   server answers  {"v":1,"id":7,"ok":true,"result":…}
//              or   {"v":1,"id":7,"ok":false,"error":{"code":…,"message":…,"data":…}}
//   streams repeat  {"v":1,"id":7,"ok":true,"more":true,"result":…} and end with "more":false.
//
// Adding fields is compatible; removing or renaming one, or adding an error
// code, bumps the version. Both the daemon and hotallocctl frame and parse
// through this module, so they cannot drift apart. Nothing here throws.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace hotalloc::api {

inline constexpr int kProtocolVersion = 1;

// The closed set of error codes; scripts branch on these names.
enum class ErrorCode {
  bad_request,          // not a JSON object, or a field of the wrong type
  unsupported_version,  // "v" names a version this server does not speak
  unknown_method,
  invalid_params,
  permission_denied,  // an admin method from a non-admin peer
  target_not_found,
  not_attached,  // the target exists but has nothing the method can read (pprof: no heap profile)
  busy,          // too many clients
  request_too_large,
  internal,
};
inline constexpr ErrorCode kAllErrorCodes[] = {
    ErrorCode::bad_request,       ErrorCode::unsupported_version, ErrorCode::unknown_method,
    ErrorCode::invalid_params,    ErrorCode::permission_denied,   ErrorCode::target_not_found,
    ErrorCode::not_attached,      ErrorCode::busy,                ErrorCode::request_too_large,
    ErrorCode::internal,
};
std::string_view to_string(ErrorCode c);
std::optional<ErrorCode> parse_error_code(std::string_view s);

struct ApiError {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  nlohmann::json data;  // omitted from the wire when null
};

// The wire's "error" object: code, message, and data when there is any.
nlohmann::json to_json(const ApiError& e);

// What a method returns: its result, or the error to answer with.
using Outcome = std::expected<nlohmann::json, ApiError>;

std::unexpected<ApiError> reject(ErrorCode code, std::string message, nlohmann::json data = nullptr);

struct Request {
  nlohmann::json id;  // a number or a string, echoed in every reply; null when absent
  std::string method;
  nlohmann::json params = nlohmann::json::object();  // always an object
};

// How a reply sits in its request's answer. A one-shot reply carries no
// "more" field; a stream is partial replies ("more":true) then one last.
enum class Framing { single, partial, last };

struct Reply {
  nlohmann::json id;
  Outcome outcome;
  Framing framing = Framing::single;

  bool ok() const { return outcome.has_value(); }
  static Reply success(nlohmann::json id, nlohmann::json result);
  static Reply failure(nlohmann::json id, ApiError error);
};

// Parses one request line (without its '\n'). A line that is not a valid v1
// request yields the error reply to send instead, with the request's id when
// it could be read. A missing "v" means 1; unknown fields are ignored.
std::expected<Request, Reply> parse_request(std::string_view line);

// One reply as a wire line, '\n' included. Strings that are not UTF-8 (paths
// from the target's filesystem) are sent with U+FFFD in place of bad bytes.
std::string encode(const Reply& reply);

// The client's side: a reply line as the daemon sent it. A reply that breaks
// the protocol (wrong shape, unknown error code) is an error with err EPROTO.
Result<Reply> parse_reply(std::string_view line);

struct Hello {
  std::string server;
  std::string version;
  std::vector<int> protocols;
  std::vector<std::string> methods;
};
std::string encode_hello(const Hello& hello);
// Fails with err EPROTO when the line is not a greeting.
Result<Hello> parse_hello(std::string_view line);

// Frames the replies to one streaming request (events --follow, pprof
// chunks): any number of partial results, then exactly one last reply. An
// error always ends the stream. Whatever comes after the end is refused, so
// a producer that outlives its stream cannot put stray lines on the wire.
class ReplyStream {
 public:
  explicit ReplyStream(nlohmann::json id) : id_(std::move(id)) {}
  std::optional<Reply> partial(nlohmann::json result);
  std::optional<Reply> last(nlohmann::json result);
  std::optional<Reply> fail(ApiError error);
  bool ended() const { return ended_; }

 private:
  std::optional<Reply> emit(Outcome outcome, Framing framing);
  nlohmann::json id_;
  bool ended_ = false;
};

// Splits a byte stream into lines. head_size() sees a line before its '\n'
// arrives, so a caller can cap line length against a peer that never sends one.
class LineBuffer {
 public:
  void append(std::string_view bytes);
  // The next complete line without its "\n" or "\r\n"; nothing when none is complete.
  std::optional<std::string> next_line();
  // Takes whatever is left as a final unterminated line (at end of input).
  std::optional<std::string> take_rest();
  // Length of the first buffered line so far, complete or not, '\n' excluded.
  size_t head_size() const;
  bool empty() const { return start_ == buf_.size(); }

 private:
  std::string buf_;
  size_t start_ = 0;  // consumed prefix, dropped in bulk rather than per line
  size_t scan_ = 0;   // where the search for '\n' resumes
};

}  // namespace hotalloc::api
