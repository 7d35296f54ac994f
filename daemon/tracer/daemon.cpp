#include "tracer/daemon.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "util/log.h"

namespace hotalloc::tracer {
namespace {

std::shared_ptr<spdlog::logger> log() { return logging::get("daemon"); }

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum : uint64_t { kSignal = 1, kTimer, kWake, kEvents, kExits };

Status watch(int epfd, int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) return fail_errno(errno, "epoll_ctl");
  return {};
}

void drain_fd(int fd) {
  uint64_t v;
  while (read(fd, &v, sizeof v) > 0) {
  }
}

}  // namespace

Daemon::Daemon(const config::Options& options) : options_(options) {}

Daemon::~Daemon() {
  // Listeners stop first: they read state the rest owns.
  http_.reset();
  api_.reset();
  for (int fd : {wake_fd_, timer_fd_, signal_fd_, epfd_})
    if (fd >= 0) close(fd);
}

Result<std::unique_ptr<Daemon>> Daemon::start(const config::Options& options) {
  std::unique_ptr<Daemon> d(new Daemon(options));

  model::DaemonInfo info;
  info.version = HOTALLOC_VERSION;
  info.revision = HOTALLOC_REVISION;
  info.libbpf_version = fmt::format("{}.{}", libbpf_major_version(), libbpf_minor_version());
  info.pid = getpid();
  info.started_unix_ms = now_unix_ms();
  info.socket_path = options.socket_path;
  d->model_ = std::make_unique<model::Model>(info);

  auto bpf = probes::BpfObjects::load();
  if (!bpf) return fail(bpf.error());
  d->bpf_ = std::move(*bpf);
  if (!d->bpf_->enable_run_stats())
    log()->info("BPF run-time statistics unavailable (needs CAP_SYS_ADMIN); hotalloc_bpf_prog_run_seconds_total stays 0");

  d->targets_ = std::make_unique<TargetManager>(*d->bpf_, *d->model_, target::ProcFs());
  auto collector = collect::Collector::create(*d->bpf_, *d->model_, *d->targets_);
  if (!collector) return fail(collector.error());
  d->collector_ = std::move(*collector);
  d->targets_->set_collector(d->collector_.get());

  for (const auto& text : options.exes) {
    auto spec = parse_exe_spec(text);
    if (!spec) return fail(spec.error());
    d->targets_->add(*spec);
  }
  for (const auto& text : options.pids) {
    auto spec = parse_pid_spec(text);
    if (!spec) return fail(spec.error());
    d->targets_->add(*spec);
  }

  d->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  d->signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  d->timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  d->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (d->epfd_ < 0 || d->signal_fd_ < 0 || d->timer_fd_ < 0 || d->wake_fd_ < 0)
    return fail_errno(errno, "set up the event loop");
  auto interval = options.collect_interval;
  itimerspec its{};
  its.it_interval.tv_sec = interval.count() / 1000;
  its.it_interval.tv_nsec = (interval.count() % 1000) * 1000000;
  its.it_value = its.it_interval;
  timerfd_settime(d->timer_fd_, 0, &its, nullptr);
  for (auto [fd, tag] : {std::pair{d->signal_fd_, kSignal}, {d->timer_fd_, kTimer}, {d->wake_fd_, kWake},
                         {d->collector_->events_fd(), kEvents}, {d->targets_->exit_fd(), kExits}})
    if (auto st = watch(d->epfd_, fd, tag); !st) return fail(st.error());

  d->collect_and_publish();

  auto http = exporter::HttpServer::start({options.listen_address, options.telemetry_path},
                                          [m = d->model_.get()] { return m->latest(); });
  if (!http) return fail(http.error().context("HTTP listener"));
  d->http_ = std::move(*http);

  d->handler_ = std::make_unique<api::Handler>(*d);
  api::ServerOptions so;
  so.path = options.socket_path;
  so.group = options.socket_group;
  so.admin_uids.assign(options.admin_uids.begin(), options.admin_uids.end());
  auto api = api::Server::start(so, *d->handler_);
  if (!api) return fail(api.error().context("socket " + options.socket_path));
  d->api_ = std::move(*api);

  info.http_address = d->http_->bound_address();
  d->model_->set_daemon(info);
  d->collect_and_publish();
  return d;
}

void Daemon::collect_and_publish() {
  collector_->poll();
  model_->set_ready(targets_->any_attached());
  if (api_) model_->set_socket_requests(api_->request_counts());
  model_->publish(now_unix_ms());
  std::lock_guard lock(fresh_mu_);
  fresh_cv_.notify_all();
}

model::SnapshotPtr Daemon::snapshot(std::chrono::milliseconds max_age) {
  auto s = model_->latest();
  if (now_unix_ms() - s->taken_unix_ms <= max_age.count()) return s;
  uint64_t one = 1;
  std::unique_lock lock(fresh_mu_);
  if (write(wake_fd_, &one, sizeof one) < 0) return s;
  fresh_cv_.wait_for(lock, std::chrono::seconds(2),
                     [&] { return model_->latest()->generation > s->generation; });
  return model_->latest();
}

int Daemon::run() {
  auto snap = model_->latest();
  size_t attached = 0;
  for (const auto& t : snap->targets) attached += t.state == model::TargetState::attached;
  std::string status = fmt::format("tracing {} of {} targets", attached, snap->targets.size());
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
  log()->info("ready: {}; metrics on http://{}{}, socket {}", status, snap->daemon.http_address,
              options_.telemetry_path, options_.socket_path);

  for (;;) {
    epoll_event evs[16];
    int n = epoll_wait(epfd_, evs, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log()->error("epoll_wait: {}", strerror(errno));
      return 1;
    }
    bool publish = false;
    for (int i = 0; i < n; i++) {
      switch (evs[i].data.u64) {
        case kSignal: {
          signalfd_siginfo si{};
          while (read(signal_fd_, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGHUP) {
              log()->info("SIGHUP: nothing to reload yet (no config file support)");
              continue;
            }
            sd_notify(0, "STOPPING=1");
            log()->info("stopping on signal {}", strsignal(static_cast<int>(si.ssi_signo)));
            return 0;
          }
          break;
        }
        case kTimer: drain_fd(timer_fd_); publish = true; break;
        case kWake: drain_fd(wake_fd_); publish = true; break;
        case kEvents: collector_->drain_events(); break;
        case kExits: targets_->handle_exits(); publish = true; break;
      }
    }
    if (publish) collect_and_publish();
  }
}

}  // namespace hotalloc::tracer
