#include "api/server.h"

#include <grp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "util/log.h"

namespace hotalloc::api {
namespace {

using Clock = std::chrono::steady_clock;

// Replies queued for one client beyond which its further requests wait: a
// peer that pipelines requests but never reads cannot make the daemon buffer
// without bound. One reply may exceed it; the next waits until it drains.
constexpr size_t kOutputHighWater = 1 << 20;
constexpr size_t kReadChunk = 64 * 1024;
constexpr auto kAcceptPause = std::chrono::seconds(1);

std::shared_ptr<spdlog::logger> log() { return logging::get("api"); }

std::optional<gid_t> lookup_group(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::vector<char> buf(4096);
  for (;;) {
    group gr{};
    group* found = nullptr;
    int rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0 || !found) return std::nullopt;
    return found->gr_gid;
  }
}

// Gives a path we created to the operators' group. Without it the group
// cannot connect, which is worth a warning but not a refusal to serve root.
void give_to_group(const std::string& path, std::optional<gid_t> gid, const std::string& group) {
  if (gid && lchown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
    log()->warn("cannot give {} to group {}: {}; its members cannot use the socket", path, group,
                std::strerror(errno));
  }
}

// Creates the socket's directory 0750. One that exists is left as it is: it
// may be systemd's RuntimeDirectory, or /tmp under a test's --socket.
Status make_directory(const std::string& socket_path, std::optional<gid_t> gid, const std::string& group) {
  std::string dir = std::filesystem::path(socket_path).parent_path();
  if (dir.empty()) return {};
  if (mkdir(dir.c_str(), 0750) != 0) {
    if (errno == EEXIST) return {};
    return fail_errno(errno, "create socket directory " + dir);
  }
  // mkdir's mode passes through the umask; say it exactly.
  if (chmod(dir.c_str(), 0750) != 0) return fail_errno(errno, "chmod " + dir);
  give_to_group(dir, gid, group);
  return {};
}

// Removes a socket left by a daemon that died, but refuses while one is live
// on it, and refuses to remove anything that is not a socket.
Status clear_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail_errno(errno, "stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) return fail("{} exists and is not a socket; refusing to replace it", path);
  UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe) return fail_errno(errno, "socket");
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 || errno == EAGAIN)
    return fail("another daemon is serving on {}", path);
  if (errno != ECONNREFUSED) return fail_errno(errno, "probe existing socket " + path);
  if (unlink(path.c_str()) != 0) return fail_errno(errno, "remove stale socket " + path);
  log()->info("removed stale socket {}", path);
  return {};
}

PeerCred peer_of(int fd, const std::vector<uid_t>& admin_uids) {
  ucred uc{};
  socklen_t len = sizeof uc;
  PeerCred p;
  // Unknown credentials are nobody's: uid -1, and no admin rights.
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
    p.uid = static_cast<uid_t>(-1);
    p.gid = static_cast<gid_t>(-1);
    return p;
  }
  p.pid = uc.pid;
  p.uid = uc.uid;
  p.gid = uc.gid;
  p.admin = uc.uid == 0 || std::ranges::find(admin_uids, uc.uid) != admin_uids.end();
  return p;
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

}  // namespace

struct Server::Connection {
  UniqueFd fd;
  PeerCred peer;
  LineBuffer in;
  std::string out;
  size_t out_sent = 0;
  Clock::time_point last_active;
  bool peer_done = false;  // the peer will send no more
  bool closing = false;    // close once `out` is sent (after request_too_large)
  bool broken = false;     // the socket failed: close now
  uint32_t interest = 0;   // epoll events registered
  std::unique_ptr<ReplySource> stream;  // the request being answered in parts
  std::string stream_method;             // its method, counted when it ends
  nlohmann::json stream_id;              // its request's id

  size_t pending() const { return out.size() - out_sent; }
};

Server::Server(ServerOptions options, Handler& handler) : options_(std::move(options)), handler_(handler) {}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler& handler) {
  std::unique_ptr<Server> s(new Server(std::move(options), handler));
  if (auto st = s->listen(); !st) return fail(st.error());
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

Status Server::listen() {
  const std::string& path = options_.path;
  auto addr = unix_address(path);
  if (!addr) return fail(addr.error());
  std::optional<gid_t> gid = lookup_group(options_.group);
  if (!gid && !options_.group.empty())
    log()->debug("group {} does not exist; {} keeps its default group", options_.group, path);

  if (auto st = make_directory(path, gid, options_.group); !st) return st;
  if (auto st = clear_stale_socket(path, *addr); !st) return st;

  listen_fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_fd_) return fail_errno(errno, "socket");
  // bind() creates the file with the socket inode's mode less the umask, so
  // setting it first means the file is never more open than 0660, even for
  // the moment before the chmod below.
  if (fchmod(listen_fd_.get(), 0660) != 0) return fail_errno(errno, "fchmod socket");
  if (bind(listen_fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0)
    return fail_errno(errno, "bind " + path);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return fail_errno(errno, "stat " + path);
  socket_dev_ = st.st_dev;
  socket_ino_ = st.st_ino;
  // Owner and mode are final before listen(): nobody can connect earlier.
  give_to_group(path, gid, options_.group);
  if (chmod(path.c_str(), 0660) != 0) return fail_errno(errno, "chmod " + path);
  if (::listen(listen_fd_.get(), SOMAXCONN) != 0) return fail_errno(errno, "listen on " + path);

  epoll_fd_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd_) return fail_errno(errno, "epoll_create1");
  wake_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  ready_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_ || !ready_fd_) return fail_errno(errno, "eventfd");
  for (int fd : {listen_fd_.get(), wake_fd_.get(), ready_fd_.get()}) {
    epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
    if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return fail_errno(errno, "epoll_ctl");
  }
  greeting_ = encode_hello({"hotallocd", HOTALLOC_VERSION, {kProtocolVersion}, handler_.methods()});
  log()->info("listening on {}", path);
  return {};
}

Server::~Server() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(wake_fd_.get(), &one, sizeof one) != sizeof one) log()->error("cannot stop the socket thread");
    thread_.join();
  }
  connections_.clear();
  listen_fd_.reset();
  // Only our own socket: a daemon started after us may have replaced it.
  struct stat st {};
  if (socket_ino_ != 0 && lstat(options_.path.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
      st.st_ino == socket_ino_) {
    unlink(options_.path.c_str());
  }
}

std::map<std::pair<std::string, std::string>, uint64_t> Server::request_counts() const {
  std::lock_guard lock(counts_mu_);
  return counts_;
}

void Server::update(const ServerOptions& options) {
  std::lock_guard lock(update_mu_);
  update_ = options;
}

void Server::take_update() {
  std::lock_guard lock(update_mu_);
  if (!update_) return;
  options_.admin_uids = std::move(update_->admin_uids);
  options_.max_clients = update_->max_clients;
  options_.max_request_bytes = update_->max_request_bytes;
  options_.idle_timeout = update_->idle_timeout;
  update_.reset();
}

void Server::count(const std::string& method, std::string_view code) {
  std::lock_guard lock(counts_mu_);
  counts_[{method, std::string(code)}]++;
}

void Server::run() {
  epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epoll_fd_.get(), events, std::size(events), next_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      log()->error("socket server stops: epoll_wait: {}", std::strerror(errno));
      return;
    }
    take_update();
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_.get()) return;
      if (fd == ready_fd_.get()) {
        serve_woken();
      } else if (fd == listen_fd_.get()) {
        accept_all();
      } else {
        on_event(fd, events[i].events);
      }
    }
    expire_idle();
    if (accept_paused_until_ != Clock::time_point{} && Clock::now() >= accept_paused_until_) {
      accept_paused_until_ = {};
      epoll_event ev{.events = EPOLLIN, .data = {.fd = listen_fd_.get()}};
      epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, listen_fd_.get(), &ev);
    }
  }
}

void Server::accept_all() {
  for (;;) {
    UniqueFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // Out of descriptors or memory: the listening socket would stay
      // readable and spin the loop, so stop watching it for a while.
      log()->warn("accept on {}: {}; pausing new connections", options_.path, std::strerror(errno));
      accept_paused_until_ = Clock::now() + kAcceptPause;
      epoll_event ev{.events = 0, .data = {.fd = listen_fd_.get()}};
      epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, listen_fd_.get(), &ev);
      return;
    }
    PeerCred peer = peer_of(fd.get(), options_.admin_uids);
    if (connections_.size() >= options_.max_clients) {
      std::string line = encode(Reply::failure(
          nullptr, {ErrorCode::busy, fmt::format("too many clients (at most {})", options_.max_clients)}));
      // Best effort: the line fits an empty socket buffer, and the peer is
      // gone on return either way.
      if (send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log()->debug("busy reply to uid {} pid {}: {}", peer.uid, peer.pid, std::strerror(errno));
      count("other", to_string(ErrorCode::busy));
      log()->debug("refused uid {} pid {}: {} clients connected", peer.uid, peer.pid, connections_.size());
      continue;
    }
    int raw = fd.get();
    auto c = std::make_unique<Connection>();
    c->fd = std::move(fd);
    c->peer = peer;
    c->last_active = Clock::now();
    c->out = greeting_;
    c->interest = EPOLLIN;
    epoll_event ev{.events = c->interest, .data = {.fd = raw}};
    if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) {
      log()->warn("epoll_ctl for a new client: {}", std::strerror(errno));
      continue;
    }
    log()->debug("client connected: uid {} gid {} pid {}", peer.uid, peer.gid, peer.pid);
    Connection& ref = *c;
    connections_.emplace(raw, std::move(c));
    flush(ref);
    if (ref.broken) {
      close_connection(raw);
    } else {
      update_interest(ref);
    }
  }
}

void Server::on_event(int fd, uint32_t events) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (events & EPOLLERR) c.broken = true;
  if ((events & (EPOLLIN | EPOLLHUP)) && !c.broken && !c.peer_done && !c.closing) {
    char buf[kReadChunk];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append({buf, static_cast<size_t>(n)});
      c.last_active = Clock::now();
    } else if (n == 0) {
      c.peer_done = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      c.broken = true;
    }
  }
  // A stream pulled up to the high-water mark and then sent whole has more.
  while (!c.broken && serve(c)) {
    flush(c);
    if (c.pending() > 0) break;
  }
  if (!c.broken) flush(c);
  if (c.broken || ((c.peer_done || c.closing) && c.pending() == 0 && !c.stream)) {
    close_connection(fd);
  } else {
    update_interest(c);
  }
}

// Answers the complete lines received, in order, while the client keeps up;
// a stream's replies come before the next request is read. True when it
// stopped because the output reached the high-water mark.
bool Server::serve(Connection& c) {
  while (!c.closing && c.pending() < kOutputHighWater) {
    if (c.stream) {
      if (!pull(c)) return false;
      continue;
    }
    if (c.in.head_size() > options_.max_request_bytes) {
      c.out += encode(Reply::failure(
          nullptr, {ErrorCode::request_too_large,
                    fmt::format("request line longer than {} bytes", options_.max_request_bytes)}));
      count("other", to_string(ErrorCode::request_too_large));
      log()->debug("uid {} pid {}: request too large; closing", c.peer.uid, c.peer.pid);
      // The rest of that line may still be arriving, and there is no telling
      // where the next request would start: end the connection.
      c.closing = true;
      return false;
    }
    std::optional<std::string> line = c.in.next_line();
    if (!line && c.peer_done) line = c.in.take_rest();
    if (!line) return false;
    answer(c, *line);
  }
  return !c.closing;
}

void Server::answer(Connection& c, const std::string& line) {
  if (blank(line)) return;  // an Enter pressed in socat is not a request
  auto start = Clock::now();
  std::string method = "other";
  Reply reply;
  if (auto request = parse_request(line)) {
    if (handler_.has_method(request->method)) method = request->method;
    Answer a = handler_.answer(*request, c.peer, [this, fd = c.fd.get()] { wake(fd); });
    if (auto* stream = std::get_if<std::unique_ptr<ReplySource>>(&a)) {
      c.stream = std::move(*stream);
      c.stream_method = method;
      c.stream_id = request->id;
      log()->debug("request uid={} pid={} method={} streams", c.peer.uid, c.peer.pid, method);
      return;
    }
    reply = std::move(std::get<Reply>(a));
  } else {
    reply = std::move(request.error());
  }
  c.out += encode(reply);
  std::string_view code = reply.ok() ? "ok" : to_string(reply.outcome.error().code);
  count(method, code);
  log()->debug("request uid={} pid={} method={} code={} took={}us", c.peer.uid, c.peer.pid, method, code,
               std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

// Takes the stream's next reply if it has one ready; the stream ends with
// the reply that ends it, or when the source fails.
bool Server::pull(Connection& c) {
  std::optional<Reply> reply;
  try {
    reply = c.stream->next();
  } catch (const std::exception& e) {
    log()->error("method {} failed while streaming: {}", c.stream_method, e.what());
    reply = Reply::failure(c.stream_id, {ErrorCode::internal, fmt::format("method {} failed: {}", c.stream_method, e.what())});
    reply->framing = Framing::last;
  }
  if (!reply) return false;
  c.out += encode(*reply);
  if (reply->framing == Framing::partial) return true;
  count(c.stream_method, reply->ok() ? "ok" : to_string(reply->outcome.error().code));
  c.stream.reset();
  return true;
}

// A source's Wake, from any thread: the serving thread pulls from that
// connection's stream when it sees ready_fd_.
void Server::wake(int fd) {
  {
    std::lock_guard lock(ready_mu_);
    ready_.insert(fd);
  }
  uint64_t one = 1;
  if (write(ready_fd_.get(), &one, sizeof one) != sizeof one) log()->debug("stream wake-up lost: eventfd full");
}

void Server::serve_woken() {
  uint64_t n;
  while (read(ready_fd_.get(), &n, sizeof n) > 0) {
  }
  std::set<int> fds;
  {
    std::lock_guard lock(ready_mu_);
    fds.swap(ready_);
  }
  // A connection that has gone since, or whose fd was reused, is served
  // once for nothing: serving reads no request that has not arrived.
  for (int fd : fds) on_event(fd, 0);
}

void Server::flush(Connection& c) {
  while (c.pending() > 0) {
    ssize_t n = send(c.fd.get(), c.out.data() + c.out_sent, c.pending(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      c.last_active = Clock::now();
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c.broken = true;
      return;
    }
  }
  c.out.clear();
  c.out_sent = 0;
}

void Server::update_interest(Connection& c) {
  uint32_t want = 0;
  if (!c.peer_done && !c.closing && c.pending() < kOutputHighWater) want |= EPOLLIN;
  if (c.pending() > 0) want |= EPOLLOUT;
  if (want == c.interest) return;
  epoll_event ev{.events = want, .data = {.fd = c.fd.get()}};
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) == 0) c.interest = want;
}

void Server::close_connection(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  log()->debug("client gone: uid {} pid {}", it->second->peer.uid, it->second->peer.pid);
  connections_.erase(it);
}

// Until the next idle deadline or the end of an accept pause; -1 when neither.
int Server::next_timeout_ms() const {
  std::optional<Clock::time_point> next;
  if (accept_paused_until_ != Clock::time_point{}) next = accept_paused_until_;
  for (const auto& [fd, c] : connections_) {
    Clock::time_point deadline = c->last_active + options_.idle_timeout;
    if (!next || deadline < *next) next = deadline;
  }
  if (!next) return -1;
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(wait, 0, 60'000));
}

void Server::expire_idle() {
  Clock::time_point now = Clock::now();
  std::vector<int> idle;
  for (const auto& [fd, c] : connections_) {
    if (now - c->last_active >= options_.idle_timeout) idle.push_back(fd);
  }
  for (int fd : idle) {
    log()->debug("closing idle client (no traffic for {}s)", options_.idle_timeout.count());
    close_connection(fd);
  }
}

}  // namespace hotalloc::api
