// Time for core/: an injected Clock so that tests move time instead of
// sleeping. Timestamps are milliseconds since the Unix epoch, UTC.
// Thread-safe: SystemClock is stateless; ManualClock uses an atomic.
#ifndef KEYWARD_CORE_CLOCK_H_
#define KEYWARD_CORE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace keyward {

using Timestamp = int64_t;  // milliseconds since 1970-01-01T00:00:00Z

inline constexpr Timestamp kMillisPerSecond = 1000;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
  // The process-wide instance.
  static const SystemClock& Get();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp now = 1'700'000'000'000) : now_(now) {}
  Timestamp Now() const override { return now_.load(std::memory_order_relaxed); }
  void Set(Timestamp now) { now_.store(now, std::memory_order_relaxed); }
  void Advance(Timestamp millis) { now_.fetch_add(millis, std::memory_order_relaxed); }

 private:
  std::atomic<Timestamp> now_;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_CLOCK_H_
