// The socket transport: a Unix stream socket served by one epoll thread. It
// knows bytes, lines, connections and limits; what a request means is the
// Handler's business.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/handler.h"
#include "api/unix_socket.h"
#include "util/result.h"

namespace hotalloc::api {

struct ServerOptions {
  std::string path = "/run/hotalloc/hotalloc.sock";
  std::string group = "hotalloc";  // owns the socket when it exists; empty leaves the group alone
  std::vector<uid_t> admin_uids;   // besides uid 0
  size_t max_clients = 64;
  size_t max_request_bytes = 1 << 20;
  std::chrono::seconds idle_timeout{60};
};

class Server {
 public:
  // Binds the socket (directory 0750, socket 0660, both in `group`),
  // replacing a stale socket but never one a live daemon serves, and starts
  // the serving thread.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler& handler);
  ~Server();  // stops the thread, closes every connection, removes the socket
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // (method, code) → requests answered; code is "ok" or the error code.
  // Methods the handler does not know are counted as "other", so that peers
  // cannot grow the metric's label set.
  std::map<std::pair<std::string, std::string>, uint64_t> request_counts() const;

  // Takes the limits and admin uids of `options` (a config reload); the
  // path and group stay as bound. Connections accepted from then on get them.
  void update(const ServerOptions& options);

 private:
  struct Connection;
  Server(ServerOptions options, Handler& handler);
  Status listen();
  void run();
  void accept_all();
  void on_event(int fd, uint32_t events);
  bool serve(Connection& c);
  void answer(Connection& c, const std::string& line);
  bool pull(Connection& c);
  void wake(int fd);
  void serve_woken();
  void flush(Connection& c);
  void update_interest(Connection& c);
  void close_connection(int fd);
  int next_timeout_ms() const;
  void expire_idle();
  void count(const std::string& method, std::string_view code);
  void take_update();

  ServerOptions options_;
  Handler& handler_;
  UniqueFd listen_fd_;
  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;  // eventfd: the destructor's stop signal
  UniqueFd ready_fd_;  // eventfd: a stream has a reply ready (ReplySource's Wake)
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;  // to remove only the socket this server created
  std::string greeting_;  // the same for every client: methods are fixed once serving
  std::chrono::steady_clock::time_point accept_paused_until_{};
  std::map<int, std::unique_ptr<Connection>> connections_;  // serving thread only
  std::thread thread_;

  std::mutex ready_mu_;
  std::set<int> ready_;  // connections whose stream woke, by fd

  std::mutex update_mu_;
  std::optional<ServerOptions> update_;  // from update(), for the serving thread

  mutable std::mutex counts_mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_;
};

}  // namespace hotalloc::api
