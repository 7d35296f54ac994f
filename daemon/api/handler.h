// The socket API's methods, apart from any transport: a request and the
// peer's credentials in, a reply out. Tests drive it directly; the server
// only moves bytes to and from it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/protocol.h"
#include "model/snapshot.h"

namespace hotalloc::api {

// Who is asking, from SO_PEERCRED as of connect().
struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  // uid 0 or a configured admin uid. The transport decides, since it holds
  // the configuration; the handler decides which methods need it.
  bool admin = false;
};

// What the daemon provides to answer queries.
class Backend {
 public:
  virtual ~Backend() = default;
  // A snapshot no older than max_age: the daemon collects on demand, so an
  // answer reflects what the probes counted moments before the request.
  // Null when the daemon has nothing to show yet.
  virtual model::SnapshotPtr snapshot(std::chrono::milliseconds max_age) = 0;
};

// The answer to a request whose reply comes in parts (pprof chunks):
// partial replies, then one that ends the stream (framed with a
// ReplyStream). The transport pulls replies while the client keeps up, so
// a large answer is produced no faster than it is read, and it answers that
// client's next request only after the stream has ended.
class ReplySource {
 public:
  virtual ~ReplySource() = default;
  // The next reply, or nullopt when none is ready yet: the source then calls
  // the Wake it was opened with, from any thread, once one is. A source
  // whose replies come from another thread must stop calling it before it
  // is destroyed. Not called again after the reply that ends the stream.
  virtual std::optional<Reply> next() = 0;
};
using Wake = std::function<void()>;
using Opened = std::expected<std::unique_ptr<ReplySource>, ApiError>;

struct Method {
  std::string name;
  bool admin = false;  // only for uid 0 or configured admin uids
  std::function<Outcome(const Request&)> run;
  // Set instead of `run` by a method that answers with a stream.
  std::function<Opened(const Request&, Wake)> open;
};

// What the transport sends for one request: one reply, or a stream of them.
using Answer = std::variant<Reply, std::unique_ptr<ReplySource>>;

class Handler {
 public:
  // How stale an answer may be: none. A collection is one walk over the BPF
  // maps, so every answer reflects what the probes counted by the time of
  // the request (concurrent requests share one collection).
  static constexpr std::chrono::milliseconds kMaxAge{0};

  explicit Handler(Backend& backend);
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  // Registers a method beyond the read-only ones built in. Methods that
  // change the daemon (attach, detach, probe tiers, pprof) need more than a
  // snapshot, so the daemon adds them with their own backends. Call before
  // the handler is serving; a name already taken is replaced.
  void add(Method method);

  // Never throws: a method that does becomes an `internal` error reply.
  // `wake` is handed to a streaming method's source.
  Answer answer(const Request& request, const PeerCred& peer, Wake wake);
  // answer() for methods with one reply; a streaming method's answer is an
  // `internal` error here.
  Reply handle(const Request& request, const PeerCred& peer);

  std::vector<std::string> methods() const;
  bool has_method(std::string_view name) const;

 private:
  const Method* find(std::string_view name) const;
  std::expected<model::SnapshotPtr, ApiError> snapshot();
  Outcome status(const Request& request);
  Outcome targets(const Request& request);
  Outcome sizeclasses(const Request& request);

  Backend& backend_;
  std::vector<Method> methods_;
};

}  // namespace hotalloc::api
