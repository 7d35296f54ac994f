#include "tracer/insert_tier.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <ctime>

#include "config/setting.h"
#include "util/log.h"

namespace hotalloc::tracer {
namespace {

std::shared_ptr<spdlog::logger> log() { return logging::get("inserts"); }

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view s) {
  auto d = config::Value<std::chrono::milliseconds>::parse(s);
  if (!d || d->count() <= 0) return std::nullopt;
  return d->count();
}

namespace {

std::string show_ms(int64_t ms) { return config::Value<std::chrono::milliseconds>::show(std::chrono::milliseconds(ms)); }

}  // namespace

std::string InsertMode::text() const {
  switch (kind) {
    case Kind::off: return "off";
    case Kind::on: return "on";
    case Kind::duty: return show_ms(on_ms) + "/" + show_ms(period_ms);
  }
  return "off";
}

bool InsertMode::on_at(int64_t now) const {
  if (kind != Kind::duty) return kind == Kind::on;
  return now % period_ms < on_ms;
}

std::optional<int64_t> InsertMode::next_change(int64_t now) const {
  if (kind != Kind::duty) return std::nullopt;
  int64_t start = now - now % period_ms;
  return on_at(now) ? start + on_ms : start + period_ms;
}

Result<InsertMode> parse_insert_mode(std::string_view text) {
  InsertMode m;
  if (text == "off") return m;
  if (text == "on") {
    m.kind = InsertMode::Kind::on;
    return m;
  }
  auto slash = text.find('/');
  auto on = slash == std::string_view::npos ? std::nullopt : parse_duration_ms(text.substr(0, slash));
  auto period = slash == std::string_view::npos ? std::nullopt : parse_duration_ms(text.substr(slash + 1));
  if (!on || !period) return fail("\"{}\" is not off, on or ON/PERIOD like 200ms/10s", text);
  if (*on >= *period) return fail("\"{}\": the on time must be shorter than the period", text);
  m.kind = InsertMode::Kind::duty;
  m.on_ms = *on;
  m.period_ms = *period;
  return m;
}

InsertTier::InsertTier(InsertMode mode, std::function<Status(bool)> apply,
                       std::function<model::KeyWindow(int64_t, int64_t)> open_window)
    : apply_(std::move(apply)),
      open_window_(std::move(open_window)),
      timer_fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      mode_(mode) {
  arm(now_ms());  // the loop applies the configured mode first thing
}

InsertTier::~InsertTier() {
  if (timer_fd_ >= 0) close(timer_fd_);
}

std::string InsertTier::mode_text() const {
  std::lock_guard lock(mu_);
  return mode_.text();
}

void InsertTier::arm(int64_t at_ms) {
  itimerspec its{};
  int64_t at = std::max<int64_t>(at_ms, 1);
  its.it_value.tv_sec = at / 1000;
  its.it_value.tv_nsec = (at % 1000) * 1'000'000;
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

// Caller holds mu_.
void InsertTier::apply_state(int64_t now) {
  bool want = now < window_until_ms_ || mode_.on_at(now);
  if (want != on_) {
    if (auto st = apply_(want); !st) log()->warn("cannot switch map insert probes {}: {}", want ? "on" : "off",
                                                 st.error().message);
    on_ = want;
    log()->debug("map insert probes {}", want ? "on" : "off");
  }
  std::optional<int64_t> next = mode_.next_change(now);
  if (now < window_until_ms_ && (!next || window_until_ms_ < *next)) next = window_until_ms_;
  if (next) {
    arm(*next);
  } else {
    itimerspec off{};
    timerfd_settime(timer_fd_, 0, &off, nullptr);
  }
}

void InsertTier::on_timer() {
  uint64_t expirations;
  while (read(timer_fd_, &expirations, sizeof expirations) > 0) {
  }
  std::lock_guard lock(mu_);
  int64_t now = now_ms();
  std::optional<model::KeyWindow> window;
  if (pending_) {
    if (pending_->mode) mode_ = *pending_->mode;
    if (pending_->for_ms > 0) {
      window_until_ms_ = std::max(window_until_ms_, now + pending_->for_ms);
      // The model keeps wall-clock times.
      timespec ts{};
      clock_gettime(CLOCK_REALTIME, &ts);
      window = open_window_(int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000, pending_->for_ms);
    }
  }
  apply_state(now);
  if (pending_) {
    last_answer_ = Answer{mode_.text(), on_, window};
    done_ticket_ = pending_->ticket;
    pending_.reset();
    done_cv_.notify_all();
  }
}

void InsertTier::set_mode(InsertMode mode) {
  std::lock_guard lock(mu_);
  mode_ = mode;
  int64_t now = now_ms();
  apply_state(now);
  if (pending_) arm(now);  // apply_state re-armed the timer a request is waiting on
}

Result<InsertTier::Answer> InsertTier::request(std::optional<InsertMode> mode, int64_t for_ms) {
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return !pending_; });
  uint64_t ticket = next_ticket_++;
  pending_ = Pending{mode, for_ms, ticket};
  arm(now_ms());
  if (!done_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return done_ticket_ >= ticket; }))
    return fail("the daemon's event loop did not answer within 5 s");
  return last_answer_;
}

}  // namespace hotalloc::tracer
