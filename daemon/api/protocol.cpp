#include "api/protocol.h"

#include <cerrno>

namespace hotalloc::api {
namespace {

using nlohmann::json;

// Daemon-side strings (exe paths, symbols) are not guaranteed UTF-8; the
// replace handler keeps dump() from throwing on them.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// nlohmann's messages start with "[json.exception.parse_error.101] "; the
// reader of an error reply needs only what follows.
std::string_view without_exception_tag(std::string_view what) {
  if (what.starts_with('[')) {
    if (auto end = what.find("] "); end != std::string_view::npos) return what.substr(end + 2);
  }
  return what;
}

Result<json> parse_json(std::string_view line) {
  try {
    return json::parse(line);
  } catch (const std::exception& e) {
    return fail("{}", without_exception_tag(e.what()));
  }
}

std::unexpected<Error> protocol_error(std::string message) {
  return std::unexpected(Error{std::move(message), EPROTO});
}

bool is_id(const json& j) { return j.is_number() || j.is_string() || j.is_null(); }

}  // namespace

std::string_view to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::bad_request: return "bad_request";
    case ErrorCode::unsupported_version: return "unsupported_version";
    case ErrorCode::unknown_method: return "unknown_method";
    case ErrorCode::invalid_params: return "invalid_params";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::target_not_found: return "target_not_found";
    case ErrorCode::not_attached: return "not_attached";
    case ErrorCode::busy: return "busy";
    case ErrorCode::request_too_large: return "request_too_large";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

std::optional<ErrorCode> parse_error_code(std::string_view s) {
  for (ErrorCode c : kAllErrorCodes) {
    if (to_string(c) == s) return c;
  }
  return std::nullopt;
}

nlohmann::json to_json(const ApiError& e) {
  json j = {{"code", to_string(e.code)}, {"message", e.message}};
  if (!e.data.is_null()) j["data"] = e.data;
  return j;
}

std::unexpected<ApiError> reject(ErrorCode code, std::string message, nlohmann::json data) {
  return std::unexpected(ApiError{code, std::move(message), std::move(data)});
}

Reply Reply::success(nlohmann::json id, nlohmann::json result) {
  return Reply{std::move(id), Outcome(std::move(result))};
}

Reply Reply::failure(nlohmann::json id, ApiError error) {
  return Reply{std::move(id), Outcome(std::unexpect, std::move(error))};
}

std::expected<Request, Reply> parse_request(std::string_view line) {
  auto bad = [](json id, std::string message) {
    return std::unexpected(Reply::failure(std::move(id), {ErrorCode::bad_request, std::move(message)}));
  };
  auto parsed = parse_json(line);
  if (!parsed) return bad(nullptr, "request is not JSON: " + parsed.error().message);
  json& j = *parsed;
  if (!j.is_object()) return bad(nullptr, "a request is a JSON object");

  Request req;
  // The id is read first so that every later error can be matched to its request.
  if (auto it = j.find("id"); it != j.end()) {
    if (!is_id(*it)) return bad(nullptr, "\"id\" must be a number or a string");
    req.id = *it;
  }
  if (auto it = j.find("v"); it != j.end()) {
    if (!it->is_number()) return bad(req.id, "\"v\" must be a number");
    if (*it != kProtocolVersion) {
      return std::unexpected(Reply::failure(
          req.id, {ErrorCode::unsupported_version, "protocol version " + dump(*it) + " is not supported",
                   json{{"supported", {kProtocolVersion}}}}));
    }
  }
  auto method = j.find("method");
  if (method == j.end() || !method->is_string()) return bad(req.id, "\"method\" must be a string");
  req.method = method->get<std::string>();
  if (auto it = j.find("params"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) {
      return std::unexpected(
          Reply::failure(req.id, {ErrorCode::invalid_params, "\"params\" must be an object"}));
    }
    req.params = std::move(*it);
  }
  return req;
}

std::string encode(const Reply& reply) {
  // Built by hand so that "v", "id" and "ok" lead the line, as people
  // reading socat output expect; the payloads are ordinary dumps.
  std::string out = R"({"v":)" + std::to_string(kProtocolVersion) + R"(,"id":)" + dump(reply.id);
  out += reply.ok() ? R"(,"ok":true)" : R"(,"ok":false)";
  if (reply.framing == Framing::partial) out += R"(,"more":true)";
  if (reply.framing == Framing::last) out += R"(,"more":false)";
  if (reply.ok()) {
    out += R"(,"result":)" + dump(*reply.outcome);
  } else {
    out += R"(,"error":)" + dump(to_json(reply.outcome.error()));
  }
  out += "}\n";
  return out;
}

Result<Reply> parse_reply(std::string_view line) {
  auto parsed = parse_json(line);
  if (!parsed) return protocol_error("reply is not JSON: " + parsed.error().message);
  const json& j = *parsed;
  if (!j.is_object()) return protocol_error("reply is not a JSON object");
  json v = j.value("v", json(kProtocolVersion));
  if (v != kProtocolVersion) return protocol_error("reply has protocol version " + dump(v));
  json id = j.value("id", json(nullptr));
  if (!is_id(id)) return protocol_error("reply id is neither a number nor a string");
  auto ok = j.find("ok");
  if (ok == j.end() || !ok->is_boolean()) return protocol_error("reply has no boolean \"ok\"");

  Framing framing = Framing::single;
  if (auto more = j.find("more"); more != j.end()) {
    if (!more->is_boolean()) return protocol_error("reply \"more\" is not a boolean");
    framing = more->get<bool>() ? Framing::partial : Framing::last;
  }
  if (ok->get<bool>()) {
    Reply r = Reply::success(std::move(id), j.value("result", json(nullptr)));
    r.framing = framing;
    return r;
  }
  auto err = j.find("error");
  if (err == j.end() || !err->is_object()) return protocol_error("error reply has no \"error\" object");
  auto code = err->find("code");
  if (code == err->end() || !code->is_string()) return protocol_error("error reply has no \"code\"");
  auto known = parse_error_code(code->get_ref<const std::string&>());
  if (!known) return protocol_error("unknown error code \"" + code->get<std::string>() + "\"");
  auto message = err->find("message");
  ApiError e{*known, message != err->end() && message->is_string() ? message->get<std::string>() : "",
             err->value("data", json(nullptr))};
  Reply r = Reply::failure(std::move(id), std::move(e));
  r.framing = framing;
  return r;
}

std::string encode_hello(const Hello& hello) {
  json h = {{"server", hello.server},
            {"version", hello.version},
            {"protocols", hello.protocols},
            {"methods", hello.methods}};
  return R"({"v":)" + std::to_string(kProtocolVersion) + R"(,"hello":)" + dump(h) + "}\n";
}

Result<Hello> parse_hello(std::string_view line) {
  auto parsed = parse_json(line);
  if (!parsed) return protocol_error("greeting is not JSON: " + parsed.error().message);
  const json& j = *parsed;
  if (!j.is_object()) return protocol_error("greeting is not a JSON object");
  auto h = j.find("hello");
  if (h == j.end() || !h->is_object()) return protocol_error("greeting has no \"hello\" object");

  Hello hello;
  auto string_field = [&](const char* key, std::string& out) {
    auto it = h->find(key);
    if (it == h->end()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  if (!string_field("server", hello.server) || !string_field("version", hello.version))
    return protocol_error("greeting \"server\" or \"version\" is not a string");

  // A server that lists no protocols speaks the one its greeting is framed in.
  json v = j.value("v", json(kProtocolVersion));
  json protocols = h->value("protocols", json::array({v}));
  if (!protocols.is_array()) return protocol_error("greeting \"protocols\" is not a list");
  for (const json& p : protocols) {
    if (!p.is_number_integer()) return protocol_error("greeting lists a protocol that is not an integer");
    hello.protocols.push_back(p.get<int>());
  }
  json methods = h->value("methods", json::array());
  if (!methods.is_array()) return protocol_error("greeting \"methods\" is not a list");
  for (const json& m : methods) {
    if (!m.is_string()) return protocol_error("greeting lists a method that is not a string");
    hello.methods.push_back(m.get<std::string>());
  }
  return hello;
}

std::optional<Reply> ReplyStream::emit(Outcome outcome, Framing framing) {
  if (ended_) return std::nullopt;
  ended_ = framing == Framing::last;
  return Reply{id_, std::move(outcome), framing};
}

std::optional<Reply> ReplyStream::partial(nlohmann::json result) {
  return emit(Outcome(std::move(result)), Framing::partial);
}

std::optional<Reply> ReplyStream::last(nlohmann::json result) {
  return emit(Outcome(std::move(result)), Framing::last);
}

std::optional<Reply> ReplyStream::fail(ApiError error) {
  return emit(Outcome(std::unexpect, std::move(error)), Framing::last);
}

void LineBuffer::append(std::string_view bytes) {
  if (start_ > 0 && start_ >= buf_.size() / 2) {
    buf_.erase(0, start_);
    scan_ -= start_;
    start_ = 0;
  }
  buf_.append(bytes);
}

std::optional<std::string> LineBuffer::next_line() {
  size_t nl = buf_.find('\n', scan_);
  if (nl == std::string::npos) {
    scan_ = buf_.size();
    return std::nullopt;
  }
  size_t end = nl;
  if (end > start_ && buf_[end - 1] == '\r') end--;
  std::string line = buf_.substr(start_, end - start_);
  start_ = scan_ = nl + 1;
  return line;
}

std::optional<std::string> LineBuffer::take_rest() {
  if (empty()) return std::nullopt;
  std::string line = buf_.substr(start_);
  start_ = scan_ = buf_.size();
  return line;
}

size_t LineBuffer::head_size() const {
  size_t nl = buf_.find('\n', scan_);
  return (nl == std::string::npos ? buf_.size() : nl) - start_;
}

}  // namespace hotalloc::api
