#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "api/protocol.h"

namespace hotalloc::api {
namespace {

using nlohmann::json;

ApiError rejected(std::string_view line) {
  auto r = parse_request(line);
  EXPECT_FALSE(r.has_value()) << line;
  if (r) return {};
  EXPECT_FALSE(r.error().ok());
  return r.error().outcome.error();
}

json rejected_id(std::string_view line) {
  auto r = parse_request(line);
  return r ? json("accepted") : r.error().id;
}

TEST(ApiProtocol, ErrorCodesAreTheDocumentedClosedSet) {
  std::vector<std::string> names;
  for (ErrorCode c : kAllErrorCodes) {
    names.emplace_back(to_string(c));
    EXPECT_EQ(parse_error_code(to_string(c)), c);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"bad_request", "unsupported_version", "unknown_method", "invalid_params",
                                             "permission_denied", "target_not_found", "not_attached", "busy",
                                             "request_too_large", "internal"}));
  EXPECT_FALSE(parse_error_code("timeout"));
}

TEST(ApiProtocol, ParsesAFullRequest) {
  auto r = parse_request(R"({"v":1,"id":7,"method":"hotkeys","params":{"target":"api","limit":20}})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, 7);
  EXPECT_EQ(r->method, "hotkeys");
  EXPECT_EQ(r->params, (json{{"target", "api"}, {"limit", 20}}));
}

TEST(ApiProtocol, MissingVersionMeansOneAndUnknownFieldsAreIgnored) {
  auto r = parse_request(R"({"method":"status","trace":true,"id":"abc","extra":{"x":[1]}})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, "abc");
  EXPECT_EQ(r->params, json::object());
}

TEST(ApiProtocol, AnyNumberOrStringIdIsKept) {
  for (std::string id : {"0", "-3", "18446744073709551615", "1.5", "1e3", "\"x\"", "\"\"", "null"}) {
    auto r = parse_request(R"({"id":)" + id + R"(,"method":"status"})");
    ASSERT_TRUE(r.has_value()) << id;
    EXPECT_EQ(r->id, json::parse(id)) << id;
    // And it goes back out unchanged.
    EXPECT_EQ(json::parse(encode(Reply::success(r->id, 1)))["id"], json::parse(id)) << id;
  }
  auto r = parse_request(R"({"method":"status"})");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->id.is_null());
}

TEST(ApiProtocol, UnsupportedVersionNamesTheSupportedOnes) {
  for (std::string v : {"2", "0", "-1", "1.5"}) {
    ApiError e = rejected(R"({"v":)" + v + R"(,"id":9,"method":"status"})");
    EXPECT_EQ(e.code, ErrorCode::unsupported_version) << v;
    EXPECT_EQ(e.data, (json{{"supported", {1}}}));
    EXPECT_EQ(rejected_id(R"({"v":)" + v + R"(,"id":9,"method":"status"})"), 9);
  }
  EXPECT_TRUE(parse_request(R"({"v":1.0,"method":"status"})").has_value());
}

TEST(ApiProtocol, BadRequests) {
  for (std::string line : {"", "   ", "not json", "{", R"({"method":"status")", "[1,2]", "\"status\"", "42",
                           "null", R"({"v":"1","method":"status"})", R"({"id":{"a":1},"method":"status"})",
                           R"({"id":[1],"method":"status"})", R"({"id":true,"method":"status"})",
                           R"({"id":1})", R"({"id":1,"method":7})", R"({"id":1,"method":null})",
                           "{\"method\":\"st\xff\xfe\"}"}) {
    EXPECT_EQ(rejected(line).code, ErrorCode::bad_request) << line;
  }
  // The id is echoed once it could be read; never a malformed one.
  EXPECT_EQ(rejected_id(R"({"id":3})"), 3);
  EXPECT_EQ(rejected_id(R"({"id":"q","method":[]})"), "q");
  EXPECT_TRUE(rejected_id(R"({"id":{"a":1},"method":"status"})").is_null());
  EXPECT_TRUE(rejected_id("garbage").is_null());
}

TEST(ApiProtocol, ParseErrorsSayWhereWithoutLibraryTags) {
  ApiError e = rejected("{\"method\": status}");
  EXPECT_NE(e.message.find("not JSON"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("column"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("[json.exception"), std::string::npos) << e.message;
}

TEST(ApiProtocol, ParamsMustBeAnObject) {
  for (std::string p : {"[]", "1", "\"x\"", "true"}) {
    ApiError e = rejected(R"({"id":1,"method":"status","params":)" + p + "}");
    EXPECT_EQ(e.code, ErrorCode::invalid_params) << p;
  }
  auto r = parse_request(R"({"method":"status","params":null})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->params, json::object());
}

TEST(ApiProtocol, HugeAndDeepLinesAreRejectedNotFatal) {
  std::string deep(1 << 20, '[');
  EXPECT_EQ(rejected(deep).code, ErrorCode::bad_request);
  std::string nested = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_EQ(rejected(nested).code, ErrorCode::bad_request);
  std::string big = R"({"id":1,"method":"status","pad":")" + std::string(1 << 20, 'x') + "\"}";
  EXPECT_TRUE(parse_request(big).has_value());
}

TEST(ApiProtocol, EncodesRepliesAsOneLineWithTheEnvelopeFirst) {
  EXPECT_EQ(encode(Reply::success(7, json{{"b", 2}, {"a", 1}})), "{\"v\":1,\"id\":7,\"ok\":true,\"result\":{\"a\":1,\"b\":2}}\n");
  EXPECT_EQ(encode(Reply::failure("x", {ErrorCode::target_not_found, "no target named \"api\""})),
            "{\"v\":1,\"id\":\"x\",\"ok\":false,\"error\":{\"code\":\"target_not_found\",\"message\":\"no target "
            "named \\\"api\\\"\"}}\n");
  EXPECT_EQ(encode(Reply::failure(nullptr, {ErrorCode::unsupported_version, "v2", json{{"supported", {1}}}})),
            "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"unsupported_version\",\"data\":{\"supported\":"
            "[1]},\"message\":\"v2\"}}\n");
}

TEST(ApiProtocol, EncodingSurvivesBytesThatAreNotUtf8) {
  std::string line = encode(Reply::success(1, json{{"exe", "/opt/\xff\xfe/app"}}));
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  json j = json::parse(line);
  EXPECT_EQ(j["result"]["exe"], "/opt/\xEF\xBF\xBD\xEF\xBF\xBD/app");
}

TEST(ApiProtocol, RepliesRoundTripForEveryCode) {
  for (ErrorCode c : kAllErrorCodes) {
    Reply sent = Reply::failure(5, {c, "why", json{{"k", "v"}}});
    auto got = parse_reply(encode(sent));
    ASSERT_TRUE(got.has_value()) << to_string(c);
    ASSERT_FALSE(got->ok());
    EXPECT_EQ(got->id, 5);
    EXPECT_EQ(got->outcome.error().code, c);
    EXPECT_EQ(got->outcome.error().message, "why");
    EXPECT_EQ(got->outcome.error().data, (json{{"k", "v"}}));
    EXPECT_EQ(got->framing, Framing::single);
  }
  auto ok = parse_reply(encode(Reply::success("id", json::array({1, 2}))));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok->outcome, json::array({1, 2}));
}

TEST(ApiProtocol, MalformedRepliesAreProtocolErrors) {
  for (std::string line : {"", "hello", "[]", R"({"v":2,"id":1,"ok":true,"result":1})", R"({"v":1,"id":1})",
                           R"({"v":1,"id":1,"ok":"yes"})", R"({"v":1,"id":[1],"ok":true})",
                           R"({"v":1,"id":1,"ok":false})", R"({"v":1,"id":1,"ok":false,"error":{"message":"m"}})",
                           R"({"v":1,"id":1,"ok":false,"error":{"code":"timeout","message":"m"}})",
                           R"({"v":1,"id":1,"ok":true,"more":1,"result":1})"}) {
    auto r = parse_reply(line);
    ASSERT_FALSE(r.has_value()) << line;
    EXPECT_EQ(r.error().err, EPROTO) << line;
  }
}

TEST(ApiProtocol, StreamsFrameEveryReplyAndRefuseAfterTheEnd) {
  ReplyStream s(7);
  auto a = s.partial(json{{"chunk", 1}});
  auto b = s.partial(json{{"chunk", 2}});
  auto c = s.last(json{{"chunks", 2}});
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(s.ended());
  EXPECT_FALSE(s.partial(3));
  EXPECT_FALSE(s.last(3));
  EXPECT_FALSE(s.fail({ErrorCode::internal, "late"}));
  EXPECT_EQ(encode(*a), "{\"v\":1,\"id\":7,\"ok\":true,\"more\":true,\"result\":{\"chunk\":1}}\n");
  EXPECT_EQ(encode(*c), "{\"v\":1,\"id\":7,\"ok\":true,\"more\":false,\"result\":{\"chunks\":2}}\n");
  EXPECT_EQ(parse_reply(encode(*b))->framing, Framing::partial);
  EXPECT_EQ(parse_reply(encode(*c))->framing, Framing::last);

  ReplyStream broken("s");
  ASSERT_TRUE(broken.partial(1));
  auto end = broken.fail({ErrorCode::not_attached, "insert probes went off"});
  ASSERT_TRUE(end);
  EXPECT_TRUE(broken.ended());
  EXPECT_EQ(json::parse(encode(*end))["more"], false);
  EXPECT_EQ(json::parse(encode(*end))["error"]["code"], "not_attached");
}

TEST(ApiProtocol, GreetingRoundTrips) {
  Hello h{"hotallocd", "0.1.0", {1}, {"status", "targets"}};
  std::string line = encode_hello(h);
  EXPECT_EQ(line,
            "{\"v\":1,\"hello\":{\"methods\":[\"status\",\"targets\"],\"protocols\":[1],\"server\":\"hotallocd\","
            "\"version\":\"0.1.0\"}}\n");
  auto got = parse_hello(line);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->server, "hotallocd");
  EXPECT_EQ(got->version, "0.1.0");
  EXPECT_EQ(got->protocols, std::vector<int>{1});
  EXPECT_EQ(got->methods, (std::vector<std::string>{"status", "targets"}));

  // A greeting without "protocols" speaks the version it is framed in.
  auto old = parse_hello(R"({"v":1,"hello":{"server":"hotallocd"}})");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->protocols, std::vector<int>{1});

  for (std::string bad : {"SSH-2.0-OpenSSH_9.2", "{}", R"({"hello":1})", R"({"hello":{"protocols":"1"}})",
                          R"({"hello":{"methods":[1]}})", R"({"hello":{"server":3}})"}) {
    auto r = parse_hello(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().err, EPROTO);
  }
}

TEST(ApiProtocol, LineBufferSplitsFramesAndMeasuresTheHead) {
  LineBuffer b;
  b.append("{\"a\":1}\r\n{\"b\"");
  EXPECT_EQ(b.next_line(), "{\"a\":1}");
  EXPECT_FALSE(b.next_line());
  EXPECT_EQ(b.head_size(), 4u);
  b.append(":2}\n\n");
  EXPECT_EQ(b.next_line(), "{\"b\":2}");
  EXPECT_EQ(b.next_line(), "");
  EXPECT_TRUE(b.empty());
  b.append("tail");
  EXPECT_FALSE(b.next_line());
  EXPECT_EQ(b.take_rest(), "tail");
  EXPECT_FALSE(b.take_rest());

  // Many small appends, byte by byte, keep every line intact.
  LineBuffer slow;
  std::string stream;
  for (int i = 0; i < 2000; i++) stream += std::to_string(i) + "\n";
  std::vector<std::string> lines;
  for (char ch : stream) {
    slow.append(std::string_view(&ch, 1));
    while (auto l = slow.next_line()) lines.push_back(*l);
  }
  ASSERT_EQ(lines.size(), 2000u);
  EXPECT_EQ(lines[1999], "1999");

  LineBuffer complete;
  complete.append(std::string(100, 'x') + "\nshort");
  EXPECT_EQ(complete.head_size(), 100u);
}

}  // namespace
}  // namespace hotalloc::api
