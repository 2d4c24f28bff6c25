// Time for core/: an injected Clock so that tests move time instead of
// sleeping. A Clock has two faces:
// - Now(): wall time, milliseconds since the Unix epoch, UTC. It is what is
//   written to the database (created_at, expires_at, revoked_at, audit) and
//   what expiry is compared with. It can jump, backwards or forwards, when
//   the machine's clock is set.
// - Monotonic(): milliseconds since an arbitrary start, on a clock that
//   never jumps. Rate limits, timeouts and cache freshness are measured on
//   it. Its values mean nothing outside this process and are never compared
//   with wall time.
// NonDecreasingClock keeps wall time from going backwards within a process;
// ClockJumpDetector notices when the wall clock jumped.
// Thread-safe: SystemClock is stateless; ManualClock and NonDecreasingClock
// use atomics. ClockJumpDetector is not (one poller).
#ifndef KEYWARD_CORE_CLOCK_H_
#define KEYWARD_CORE_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <optional>

namespace keyward {

using Timestamp = int64_t;  // milliseconds since 1970-01-01T00:00:00Z

inline constexpr Timestamp kMillisPerSecond = 1000;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time: milliseconds since the epoch. May jump.
  virtual Timestamp Now() const = 0;
  // Milliseconds on a clock that never goes backwards and is not moved when
  // the wall clock is set; only differences between two readings mean
  // anything.
  virtual Timestamp Monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
  // CLOCK_MONOTONIC (std::chrono::steady_clock's clock), read coarsely. It
  // does not count time the machine spends suspended.
  Timestamp Monotonic() const override;
  // The process-wide instance.
  static const SystemClock& Get();
};

// A clock that tests move. Advance moves both faces, as time passing does;
// Set and JumpWall move the wall clock only, as someone setting the
// machine's clock does. Each call is atomic on its own; a reader concurrent
// with Advance may see one face moved before the other.
class ManualClock final : public Clock {
 public:
  // The monotonic face starts here: far from any wall time, so that a test
  // mixing the two faces up fails loudly.
  static constexpr Timestamp kMonotonicStart = 1'000'000;

  explicit ManualClock(Timestamp now = 1'700'000'000'000) : now_(now) {}
  Timestamp Now() const override { return now_.load(std::memory_order_relaxed); }
  Timestamp Monotonic() const override { return mono_.load(std::memory_order_relaxed); }
  // Sets the wall clock (a jump); the monotonic clock does not move.
  void Set(Timestamp now) { now_.store(now, std::memory_order_relaxed); }
  // Moves the wall clock by delta (negative: backwards); the monotonic clock
  // does not move.
  void JumpWall(Timestamp delta) { now_.fetch_add(delta, std::memory_order_relaxed); }
  // Time passes: both clocks move forward by millis.
  void Advance(Timestamp millis) {
    mono_.fetch_add(millis, std::memory_order_relaxed);
    now_.fetch_add(millis, std::memory_order_relaxed);
  }

 private:
  std::atomic<Timestamp> now_;
  std::atomic<Timestamp> mono_{kMonotonicStart};
};

// A base clock whose wall time never goes backwards: Now() answers the
// largest wall time it has answered so far, so when the base clock is set
// back, wall time holds still until the base catches up. Expiry is compared
// with it, so a key that has expired never comes back. A forward jump is
// kept: what expired during it stays expired. The high-water mark lives in
// this object, so it is per process and starts again at a restart.
// Monotonic() is the base's.
//
// Does not own base, which must outlive it. Thread-safe, and lock-free: a
// reading costs one relaxed load, plus a compare-and-swap only when the base
// is ahead of every earlier reading (once per tick of the base clock).
class NonDecreasingClock final : public Clock {
 public:
  explicit NonDecreasingClock(const Clock* base);

  Timestamp Now() const override;
  Timestamp Monotonic() const override { return base_->Monotonic(); }

  // How far the wall time answered is ahead of the base's now: 0 while the
  // base is not behind, the remaining size of a backwards jump otherwise.
  Timestamp HeldBackMillis() const;
  // The clock underneath, which jumps; a ClockJumpDetector watches it.
  const Clock& base() const { return *base_; }

 private:
  const Clock* base_;
  mutable std::atomic<Timestamp> high_;
};

// Notices jumps of a clock's wall time. Each Poll compares how far the wall
// clock moved since the previous Poll with how far the monotonic clock
// moved; a difference of threshold or more is a jump, reported by that one
// Poll (a slow NTP adjustment never adds up to one). Poll it periodically,
// e.g. every 200 ms, with the clock that jumps (NonDecreasingClock::base(),
// not the NonDecreasingClock, which hides backwards jumps). A suspend of the
// machine shows as a forward jump: the monotonic clock does not count it.
//
// Does not own clock, which must outlive it. Not thread-safe: one poller.
class ClockJumpDetector {
 public:
  static constexpr Timestamp kDefaultThresholdMillis = 2 * kMillisPerSecond;

  explicit ClockJumpDetector(const Clock* clock,
                             Timestamp threshold_millis = kDefaultThresholdMillis);

  // The jump since the previous Poll (or construction), in milliseconds:
  // positive forward, negative backwards; nullopt when the wall clock kept
  // pace with the monotonic clock to within the threshold.
  std::optional<Timestamp> Poll();

 private:
  const Clock* clock_;
  const Timestamp threshold_;
  Timestamp last_wall_;
  Timestamp last_monotonic_;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_CLOCK_H_
