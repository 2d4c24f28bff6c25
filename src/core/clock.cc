#include "core/clock.h"

#include <time.h>

namespace keyward {
namespace {

Timestamp Millis(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<Timestamp>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

// The coarse clocks are read from memory the kernel updates each tick (1-4
// ms): several times cheaper than the precise ones, on the hot path of every
// verification, and fine for expiry, rate limits and timestamps in ms.
Timestamp SystemClock::Now() const { return Millis(CLOCK_REALTIME_COARSE); }

Timestamp SystemClock::Monotonic() const { return Millis(CLOCK_MONOTONIC_COARSE); }

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

NonDecreasingClock::NonDecreasingClock(const Clock* base) : base_(base), high_(base->Now()) {}

Timestamp NonDecreasingClock::Now() const {
  const Timestamp now = base_->Now();
  // Relaxed is enough: one atomic alone, whose every reader sees its values
  // in one order, so no reader sees it go down.
  Timestamp high = high_.load(std::memory_order_relaxed);
  while (now > high) {
    // On failure high is reloaded; another thread may have gone further.
    if (high_.compare_exchange_weak(high, now, std::memory_order_relaxed)) return now;
  }
  return high;
}

Timestamp NonDecreasingClock::HeldBackMillis() const {
  const Timestamp held = high_.load(std::memory_order_relaxed) - base_->Now();
  return held > 0 ? held : 0;
}

ClockJumpDetector::ClockJumpDetector(const Clock* clock, Timestamp threshold_millis)
    : clock_(clock),
      threshold_(threshold_millis),
      last_wall_(clock->Now()),
      last_monotonic_(clock->Monotonic()) {}

std::optional<Timestamp> ClockJumpDetector::Poll() {
  const Timestamp wall = clock_->Now();
  const Timestamp monotonic = clock_->Monotonic();
  const Timestamp jump = (wall - last_wall_) - (monotonic - last_monotonic_);
  last_wall_ = wall;
  last_monotonic_ = monotonic;
  if (jump >= threshold_ || jump <= -threshold_) return jump;
  return std::nullopt;
}

}  // namespace keyward
