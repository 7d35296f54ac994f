// hotallocd's runtime: loads the BPF programs, attaches the targets, and runs
// one event loop that collects counters, notices exits and new processes,
// and publishes snapshots. The HTTP exporter and the socket API run on their
// own threads and only read snapshots; when they need a fresh one they ask
// this loop to collect now (Backend::snapshot). SIGHUP reloads the config
// file in this loop: what changed is applied, and probes that nothing
// changed for stay attached.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "api/handler.h"
#include "api/server.h"
#include "collect/collector.h"
#include "config/options.h"
#include "api/map_methods.h"
#include "exporter/http_server.h"
#include "model/model.h"
#include "probes/bpf_objects.h"
#include "tracer/discovery.h"
#include "tracer/insert_tier.h"
#include "tracer/target_manager.h"
#include "util/result.h"

namespace hotalloc::tracer {

class Daemon final : public api::Backend, public collect::EventHandler, public api::MapInsertControl {
 public:
  // Everything up to readiness: BPF loaded, targets attached (or their
  // failures recorded), listeners bound. Errors here are fatal to the daemon.
  // `cli` is kept to resolve the configuration again on reload.
  static Result<std::unique_ptr<Daemon>> start(const config::CommandLine& cli, const config::Options& options);
  ~Daemon() override;

  // Runs until SIGINT or SIGTERM; returns the exit code.
  int run();

  // api::Backend: a snapshot no older than max_age.
  model::SnapshotPtr snapshot(std::chrono::milliseconds max_age) override;

  // collect::EventHandler
  void on_process_seen(int pid, uint32_t target_id) override;
  void on_exec(int pid) override;

  // api::MapInsertControl: switches the insert tier from the socket thread.
  Result<nlohmann::json> set_map_inserts(const std::optional<std::string>& mode, int64_t for_ms) override;

 private:
  Daemon(const config::CommandLine& cli, const config::Options& options);
  void collect_and_publish();
  void reload();
  void apply_targets(const config::Options& next);
  void apply_discovery(const config::Options& next);
  void discover_all();
  void set_timer(int fd, std::chrono::milliseconds interval);
  // The insert mode into the published daemon info (status, `map inserts`).
  void publish_insert_mode();
  api::ServerOptions server_options(const config::Options& o) const;
  std::string status_text() const;

  config::CommandLine cli_;
  config::Options options_;
  std::unique_ptr<model::Model> model_;
  std::unique_ptr<probes::BpfObjects> bpf_;
  // Before their users, which they outlive.
  target::BinaryCache binaries_;
  heapprof::SymbolizerCache symbolizers_;
  std::unique_ptr<TargetManager> targets_;
  std::unique_ptr<collect::Collector> collector_;
  std::unique_ptr<collect::HeapCollector> heap_;
  std::unique_ptr<InsertTier> inserts_;
  std::unique_ptr<api::Handler> handler_;
  std::unique_ptr<api::Server> api_;
  std::unique_ptr<exporter::HttpServer> http_;

  int epfd_ = -1;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: another thread wants a fresh snapshot
  int scan_fd_ = -1;  // timerfd: the next /proc scan for --discover

  std::unique_ptr<Discovery> discovery_;  // while --discover is on
  probes::Link exec_link_;                // the exec tracepoint, while --discover is on

  std::mutex fresh_mu_;
  std::condition_variable fresh_cv_;
};

}  // namespace hotalloc::tracer
