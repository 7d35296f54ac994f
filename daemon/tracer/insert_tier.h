// The map-insert probe tier (--map-inserts): off, on, or duty-cycled
// ("200ms/10s": on for 200 ms of every 10 s), plus windows that an admin
// request opens for a while (hotkeys --for) before the configured mode
// returns. Insert probes fire on every map insert, so the tier is switched
// by attaching and detaching them; the always-on probes are never touched.
//
// The event loop owns the switching: it watches fd(), a timer armed for the
// next transition, and calls on_timer(). Other threads ask through
// request(), which wakes the loop and waits for the result.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "model/maps.h"
#include "util/result.h"

namespace hotalloc::tracer {

struct InsertMode {
  enum class Kind { off, on, duty } kind = Kind::off;
  int64_t on_ms = 0;      // duty: on for this long
  int64_t period_ms = 0;  // duty: of every this long

  std::string text() const;  // "off", "on", "200ms/10s"
  // Whether the probes should be on at `now_ms` (duty cycles start at 0).
  bool on_at(int64_t now_ms) const;
  // The next time after `now_ms` at which on_at changes; nullopt: never.
  std::optional<int64_t> next_change(int64_t now_ms) const;
};

// A positive duration with a unit, as the config writes them: "200ms", "10s", "1m".
std::optional<int64_t> parse_duration_ms(std::string_view text);

// "off", "on" or ON/PERIOD with the config's duration units ("200ms/10s"); ON < PERIOD.
Result<InsertMode> parse_insert_mode(std::string_view text);

class InsertTier {
 public:
  // `apply` switches the probes (on the loop thread); `open_window` starts a
  // hot-key window in the model.
  InsertTier(InsertMode mode, std::function<Status(bool on)> apply,
             std::function<model::KeyWindow(int64_t now_ms, int64_t duration_ms)> open_window);
  ~InsertTier();
  InsertTier(const InsertTier&) = delete;
  InsertTier& operator=(const InsertTier&) = delete;

  int fd() const { return timer_fd_; }
  // Loop thread: applies requests and due transitions, re-arms the timer.
  void on_timer();

  struct Answer {
    std::string mode;  // the configured mode
    bool on = false;   // the probes right now
    std::optional<model::KeyWindow> window;
  };
  // Any thread: sets the configured mode (when `mode` is given) and/or opens
  // a window of `for_ms` with the probes on. Waits for the loop to apply it.
  Result<Answer> request(std::optional<InsertMode> mode, int64_t for_ms);
  // Loop thread only (a reload): sets the configured mode at once. request()
  // would wait for the loop, which is the caller: it would never answer.
  // An open window keeps the probes on until it ends.
  void set_mode(InsertMode mode);
  std::string mode_text() const;

 private:
  void arm(int64_t at_ms);
  void apply_state(int64_t now_ms);

  std::function<Status(bool)> apply_;
  std::function<model::KeyWindow(int64_t, int64_t)> open_window_;
  int timer_fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  InsertMode mode_;
  int64_t window_until_ms_ = 0;
  bool on_ = false;
  // A request waiting for the loop.
  struct Pending {
    std::optional<InsertMode> mode;
    int64_t for_ms = 0;
    uint64_t ticket = 0;
  };
  std::optional<Pending> pending_;
  uint64_t next_ticket_ = 1;
  uint64_t done_ticket_ = 0;
  Result<Answer> last_answer_ = fail("no request yet");
};

}  // namespace hotalloc::tracer
