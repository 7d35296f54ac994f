// Feeds arbitrary bytes to everything that reads socket input: the server's
// line splitting and request parsing, the handler behind them, and the
// client's parsing of replies and greetings. Besides not crashing, every
// line must come back as exactly one reply line that the client parses,
// with the same outcome and the same id.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/handler.h"

namespace {

using namespace hotalloc;

class FixedBackend final : public api::Backend {
 public:
  explicit FixedBackend(model::SnapshotPtr s) : snapshot_(std::move(s)) {}
  model::SnapshotPtr snapshot(std::chrono::milliseconds) override { return snapshot_; }

 private:
  model::SnapshotPtr snapshot_;
};

// Enough for every method to walk every branch: a target with counts and
// probes, one that failed, and a name that is not UTF-8.
model::SnapshotPtr make_snapshot() {
  auto s = std::make_shared<model::Snapshot>();
  s->ready = true;
  s->daemon.started_unix_ms = 1;
  model::TargetView api;
  api.name = "api";
  api.exe = "/srv/\xff\xfe";
  api.processes = {{1, 2, true}, {3, 4, false}};
  api.probes = {{"refill", "runtime.(*mcache).refill", 1, 4, 5, "jbe 0x9", "stack_check_branch", true, true, ""}};
  api.alloc.small_objects[7] = 3;
  api.alloc.refills[7] = 1;
  api.alloc.large_objects = 1;
  api.alloc.large_bytes = 40960;
  model::TargetView failed;
  failed.name = "failed";
  failed.state = model::TargetState::failed;
  failed.error = "no .gopclntab";
  s->targets = {api, failed};
  s->probes = {{"refill", 10, 1, 1, 0}};
  s->drops = {{"ringbuf_full", 2}};
  return s;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FixedBackend backend(make_snapshot());
  static api::Handler& handler = *[] {
    auto* h = new api::Handler(backend);
    h->add({"detach", true, [](const api::Request& r) -> api::Outcome { return r.params; }});
    return h;
  }();

  // The first byte decides whether the peer is an admin, so both sides of
  // the permission check are reached.
  api::PeerCred peer{.pid = 1, .uid = 1000, .gid = 1000, .admin = size > 0 && (data[0] & 1)};
  auto serve = [&](const std::string& line) {
    api::Reply reply;
    if (auto request = api::parse_request(line)) {
      reply = handler.handle(*request, peer);
    } else {
      reply = std::move(request.error());
    }
    std::string out = api::encode(reply);
    check(!out.empty() && out.find('\n') == out.size() - 1);
    auto back = api::parse_reply(std::string_view(out).substr(0, out.size() - 1));
    check(back.has_value());
    check(back->ok() == reply.ok() && back->id == reply.id);
    if (!reply.ok()) check(back->outcome.error().code == reply.outcome.error().code);

    // hotallocctl reads what a daemon sends with the same care.
    (void)api::parse_reply(line);
    (void)api::parse_hello(line);
  };

  api::LineBuffer lines;
  lines.append({reinterpret_cast<const char*>(data), size});
  while (auto line = lines.next_line()) serve(*line);
  if (auto rest = lines.take_rest()) serve(*rest);
  return 0;
}
