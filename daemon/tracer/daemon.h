// hotallocd's runtime: loads the BPF programs, attaches the targets, and runs
// one event loop that collects counters, notices exits and new processes,
// and publishes snapshots. The HTTP exporter and the socket API run on their
// own threads and only read snapshots; when they need a fresh one they ask
// this loop to collect now (Backend::snapshot).
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
#include "exporter/http_server.h"
#include "model/model.h"
#include "probes/bpf_objects.h"
#include "tracer/target_manager.h"
#include "util/result.h"

namespace hotalloc::tracer {

class Daemon final : public api::Backend {
 public:
  // Everything up to readiness: BPF loaded, targets attached (or their
  // failures recorded), listeners bound. Errors here are fatal to the daemon.
  static Result<std::unique_ptr<Daemon>> start(const config::Options& options);
  ~Daemon() override;

  // Runs until SIGINT or SIGTERM; returns the exit code.
  int run();

  // api::Backend: a snapshot no older than max_age.
  model::SnapshotPtr snapshot(std::chrono::milliseconds max_age) override;

 private:
  explicit Daemon(const config::Options& options);
  void collect_and_publish();

  config::Options options_;
  std::unique_ptr<model::Model> model_;
  std::unique_ptr<probes::BpfObjects> bpf_;
  std::unique_ptr<TargetManager> targets_;
  std::unique_ptr<collect::Collector> collector_;
  std::unique_ptr<api::Handler> handler_;
  std::unique_ptr<api::Server> api_;
  std::unique_ptr<exporter::HttpServer> http_;

  int epfd_ = -1;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: another thread wants a fresh snapshot

  std::mutex fresh_mu_;
  std::condition_variable fresh_cv_;
};

}  // namespace hotalloc::tracer
