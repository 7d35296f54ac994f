#include "tracer/daemon.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>

#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "api/advice_methods.h"
#include "api/site_methods.h"
#include "util/log.h"

namespace hotalloc::tracer {
namespace {

std::shared_ptr<spdlog::logger> log() { return logging::get("daemon"); }

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum : uint64_t { kSignal = 1, kTimer, kWake, kEvents, kExits, kScan, kInserts };

// How often --discover scans /proc: each second when it must find new
// processes that way, rarely when the exec tracepoint reports them and the
// scan only catches what a full ring buffer dropped.
constexpr std::chrono::milliseconds kScanFallback{1000};
constexpr std::chrono::milliseconds kScanBackstop{10'000};

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// What --pid and --exe ask for, by spec text.
std::map<std::string, TargetSpec> requested_specs(const config::Options& o) {
  std::map<std::string, TargetSpec> out;
  for (const auto& text : o.exes)
    if (auto spec = parse_exe_spec(text)) out.emplace(spec->text(), *spec);  // validated by the config
  for (int pid : o.pids) out.emplace(pid_spec(pid).text(), pid_spec(pid));
  return out;
}

std::string join_names(const std::vector<const config::Setting*>& settings) {
  std::string out;
  for (const auto* s : settings) out += (out.empty() ? "" : ", ") + s->name;
  return out;
}

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

Daemon::Daemon(const config::CommandLine& cli, const config::Options& options) : cli_(cli), options_(options) {}

Daemon::~Daemon() {
  // Listeners stop first: they read state the rest owns.
  http_.reset();
  api_.reset();
  for (int fd : {scan_fd_, wake_fd_, timer_fd_, signal_fd_, epfd_})
    if (fd >= 0) close(fd);
}

Result<std::unique_ptr<Daemon>> Daemon::start(const config::CommandLine& cli, const config::Options& options) {
  std::unique_ptr<Daemon> d(new Daemon(cli, options));
  // Blocked before any thread starts (every thread inherits the mask), so
  // that these signals reach only the event loop's signalfd: one delivered
  // to a thread that has them unblocked would end the daemon.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);

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

  d->targets_ = std::make_unique<TargetManager>(*d->bpf_, *d->model_, d->binaries_, target::ProcFs());
  auto collector = collect::Collector::create(*d->bpf_, *d->model_, d->binaries_, d->symbolizers_, *d);
  if (!collector) return fail(collector.error());
  d->collector_ = std::move(*collector);
  d->targets_->set_collector(d->collector_.get());
  d->heap_ = std::make_unique<collect::HeapCollector>(*d->model_, d->symbolizers_, target::ProcFs());
  d->targets_->set_heap_collector(d->heap_.get());
  model::MapLimits limits;
  limits.hot_keys_per_map = options.metrics_hot_keys;
  limits.hot_key_maps = options.metrics_hot_maps;
  limits.redact_keys = options.metrics_redact_keys;
  d->model_->maps().set_limits(limits);
  auto mode = parse_insert_mode(options.map_inserts);
  if (!mode) return fail(mode.error().context("--map-inserts"));
  d->inserts_ = std::make_unique<InsertTier>(
      *mode, [t = d->targets_.get()](bool on) { return t->set_insert_probes(on); },
      [m = d->model_.get()](int64_t now, int64_t duration) { return m->maps().open_window(now, duration); });
  info.map_inserts = mode->text();

  // --exe first: a --pid of the same binary is then already covered.
  for (const auto& [text, spec] : requested_specs(options))
    if (spec.kind == TargetSpec::Kind::exe) d->targets_->add(spec);
  for (const auto& [text, spec] : requested_specs(options))
    if (spec.kind == TargetSpec::Kind::pid) d->targets_->add(spec);

  d->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  d->signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  d->timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  d->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  d->scan_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (d->epfd_ < 0 || d->signal_fd_ < 0 || d->timer_fd_ < 0 || d->wake_fd_ < 0 || d->scan_fd_ < 0)
    return fail_errno(errno, "set up the event loop");
  d->set_timer(d->timer_fd_, options.collect_interval());
  for (auto [fd, tag] : {std::pair{d->signal_fd_, kSignal}, {d->timer_fd_, kTimer}, {d->wake_fd_, kWake},
                         {d->collector_->events_fd(), kEvents}, {d->targets_->exit_fd(), kExits},
                         {d->scan_fd_, kScan}, {d->inserts_->fd(), kInserts}})
    if (auto st = watch(d->epfd_, fd, tag); !st) return fail(st.error());
  d->apply_discovery(options);

  d->collect_and_publish();

  auto http = exporter::HttpServer::start({options.listen_address, options.telemetry_path},
                                          [m = d->model_.get()] { return m->latest(); });
  if (!http) return fail(http.error().context("HTTP listener"));
  d->http_ = std::move(*http);

  d->handler_ = std::make_unique<api::Handler>(*d);
  // What SIGHUP does, for admins who can reach the socket but not the
  // process; the event loop reloads as it does on the signal (blocked in
  // every thread, so the signalfd receives it).
  d->handler_->add({"reload", true, [](const api::Request&) -> api::Outcome {
                      if (kill(getpid(), SIGHUP) != 0) return api::reject(api::ErrorCode::internal, "cannot signal itself");
                      return nlohmann::json{{"reload", "requested"}};
                    }});
  api::add_heap_methods(*d->handler_, *d);
  api::add_map_methods(*d->handler_, *d, *d);
  api::add_advice_methods(*d->handler_, *d);
  auto api = api::Server::start(d->server_options(options), *d->handler_);
  if (!api) return fail(api.error().context("socket " + options.socket_path));
  d->api_ = std::move(*api);

  info.http_address = d->http_->bound_address();
  d->model_->set_daemon(info);
  d->collect_and_publish();
  return d;
}

void Daemon::collect_and_publish() {
  collector_->poll();
  heap_->poll();
  model_->set_ready(targets_->any_attached());
  if (api_) model_->set_socket_requests(api_->request_counts());
  model_->publish(now_unix_ms());
  std::lock_guard lock(fresh_mu_);
  fresh_cv_.notify_all();
}

Result<nlohmann::json> Daemon::set_map_inserts(const std::optional<std::string>& mode, int64_t for_ms) {
  std::optional<InsertMode> parsed;
  if (mode) {
    auto m = parse_insert_mode(*mode);
    if (!m) return fail(m.error());
    parsed = *m;
  }
  auto answer = inserts_->request(parsed, for_ms);
  if (!answer) return fail(answer.error());
  nlohmann::json window = nullptr;
  if (answer->window)
    window = {{"id", answer->window->id},
              {"start_unix_ms", answer->window->start_ms},
              {"end_unix_ms", answer->window->end_ms}};
  return nlohmann::json{{"mode", answer->mode}, {"on", answer->on}, {"window", window}};
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

std::string Daemon::status_text() const {
  auto snap = model_->latest();
  size_t attached = 0, listed = 0;
  for (const auto& t : snap->targets) {
    attached += t.state == model::TargetState::attached;
    listed += t.state != model::TargetState::detached;
  }
  return fmt::format("tracing {} of {} targets{}", attached, listed, discovery_ ? ", discovering" : "");
}

int Daemon::run() {
  std::string status = status_text();
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
  log()->info("ready: {}; metrics on http://{}{}, socket {}", status, model_->latest()->daemon.http_address,
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
              reload();
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
        case kInserts:
          inserts_->on_timer();
          publish_insert_mode();
          break;
        case kScan: drain_fd(scan_fd_); discover_all(); publish = true; break;
      }
    }
    if (publish) collect_and_publish();
  }
}


void Daemon::publish_insert_mode() {
  model::DaemonInfo info = model_->latest()->daemon;
  info.map_inserts = inserts_->mode_text();
  model_->set_daemon(info);
}

void Daemon::set_timer(int fd, std::chrono::milliseconds interval) {
  itimerspec its{};
  its.it_interval.tv_sec = interval.count() / 1000;
  its.it_interval.tv_nsec = (interval.count() % 1000) * 1000000;
  its.it_value = its.it_interval;
  timerfd_settime(fd, 0, &its, nullptr);
}

api::ServerOptions Daemon::server_options(const config::Options& o) const {
  api::ServerOptions so;
  so.path = o.socket_path;
  so.group = o.socket_group;
  so.admin_uids.assign(o.admin_uids.begin(), o.admin_uids.end());
  so.max_clients = o.socket_max_clients;
  so.max_request_bytes = o.socket_max_request_bytes;
  so.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(o.socket_idle_timeout);
  return so;
}

void Daemon::on_process_seen(int pid, uint32_t target_id) { targets_->on_process_seen(pid, target_id); }

void Daemon::on_exec(int pid) {
  if (!discovery_) return;
  // A traced process that execs runs another program: what it was traced
  // as is over (when the new image is another binary, the old one's links,
  // which can no longer fire, close off the loop: LinkCloser).
  if (std::ranges::count(targets_->discovered_pids(), pid) > 0) targets_->remove(discovered_spec(pid));
  if (auto id = discovery_->examine(pid, true))
    if (!targets_->add(discovered_spec(id->pid))) discovery_->refuse_binary(*id);
}

void Daemon::discover_all() {
  if (!discovery_) return;
  for (const auto& id : discovery_->scan())
    if (!targets_->add(discovered_spec(id.pid))) discovery_->refuse_binary(id);
}

void Daemon::apply_discovery(const config::Options& next) {
  if (!next.discover) {
    if (!discovery_) return;
    for (int pid : targets_->discovered_pids()) targets_->remove(discovered_spec(pid));
    exec_link_ = probes::Link();
    discovery_.reset();
    set_timer(scan_fd_, std::chrono::milliseconds(0));
    log()->info("discovery off");
    return;
  }
  // A fresh start: new patterns, and binaries refused before get another try.
  discovery_ = std::make_unique<Discovery>(target::ProcFs(), next.match);
  for (int pid : targets_->discovered_pids())
    if (!discovery_->examine(pid)) targets_->remove(discovered_spec(pid));
  if (!exec_link_) {
    if (auto link = bpf_->attach_exec_tracepoint()) {
      exec_link_ = std::move(*link);
    } else {
      log()->warn("{}; --discover finds new processes by scanning /proc every {} ms instead",
                  link.error().message, kScanFallback.count());
    }
  }
  set_timer(scan_fd_, exec_link_ ? kScanBackstop : kScanFallback);
  discover_all();
  std::string filter;
  for (const auto& m : next.match) filter += (filter.empty() ? " matching " : " or ") + m;
  log()->info("discovering Go processes{} ({})", filter, exec_link_ ? "exec tracepoint" : "/proc scans");
}

void Daemon::apply_targets(const config::Options& next) {
  auto before = requested_specs(options_);
  auto after = requested_specs(next);
  for (const auto& [text, spec] : before)
    if (!after.contains(text)) targets_->remove(spec);
  for (auto kind : {TargetSpec::Kind::exe, TargetSpec::Kind::pid})
    for (const auto& [text, spec] : after)
      if (spec.kind == kind && !before.contains(text)) targets_->add(spec);
}

// The configuration is resolved afresh: defaults, the file as it is now, the
// flags given at start. A file that does not resolve changes nothing.
void Daemon::reload() {
  std::string source = cli_.config_path ? *cli_.config_path : std::string("the command line");
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
             static_cast<unsigned long long>(monotonic_usec()), source.c_str());
  auto next = config::resolve(cli_);
  if (!next) {
    log()->warn("reload rejected, the running configuration stays: {}", next.error().message);
  } else {
    config::Options applied = options_;
    std::vector<const config::Setting*> changed, kept;
    for (const config::Setting* s : config::changed_settings(options_, *next)) {
      if (s->reloadable) {
        s->copy(applied, *next);
        changed.push_back(s);
      } else {
        kept.push_back(s);
      }
    }
    if (!kept.empty()) log()->warn("reload: {} changed, which needs a restart; the running values stay", join_names(kept));
    if (applied.log_level != options_.log_level) logging::set_level(applied.log_level);
    apply_targets(applied);
    if (applied.discover != options_.discover || applied.match != options_.match) apply_discovery(applied);
    if (applied.collect_interval_ms != options_.collect_interval_ms) set_timer(timer_fd_, applied.collect_interval());
    if (applied.map_inserts != options_.map_inserts) {
      // Validated when the file was resolved; the always-on probes are not touched.
      if (auto mode = parse_insert_mode(applied.map_inserts)) {
        inserts_->set_mode(*mode);
        publish_insert_mode();
      } else {
        log()->warn("reload: map-inserts: {}", mode.error().message);
      }
    }
    api_->update(server_options(applied));
    options_ = std::move(applied);
    collect_and_publish();
    log()->info("reloaded {}: {}", source, changed.empty() ? std::string("nothing changed") : "applied " + join_names(changed));
  }
  std::string status = status_text();
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
}

}  // namespace hotalloc::tracer
