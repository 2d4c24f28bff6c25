// The background work of a node, on three threads of its own:
// - the follower reads the key change log (every 200 ms, and at once when
//   the store signals a change), alone so that nothing delays a revocation;
// - the usage flusher writes usage counters and credits spent (every
//   second), so that a long flush holds up nothing else;
// - the maintenance loop flushes the access log, watches the wall clock for
//   jumps (logs each and counts it) and probes storage through the fault
//   guard (every 200 ms; the guard itself acts about once a second),
//   forgets rate-limit state that has refilled (every minute), and prunes
//   old change-log entries and usage past its retention (every hour).
// Owned by App. Thread-safe: Stop may be called from any thread, once or
// more.
#ifndef KEYWARD_APP_MAINTENANCE_H_
#define KEYWARD_APP_MAINTENANCE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <thread>
#include <vector>

#include "core/credits.h"
#include "core/key_cache.h"
#include "core/key_store.h"
#include "core/mutex.h"
#include "core/rate_limiter.h"
#include "core/usage.h"

namespace keyward {

// Writes the usage counted in memory and the credits spent, in one
// transaction; on failure keeps both for the next try. everything: every
// key's last use too, not only those due (see UsageRecorder). Not
// thread-safe: one flusher at a time.
Status FlushUsageOnce(KeyStore* store, UsageRecorder* usage, CreditLedger* credits,
                      const Clock* clock, bool everything = true);

class Maintenance {
 public:
  // credits: null when credits are not counted.
  Maintenance(KeyStore* store, ChangeFollower* follower, UsageRecorder* usage,
              CreditLedger* credits, std::vector<RateLimiter*> limiters, int64_t retention_days,
              const Clock* clock, const Clock* wall_source, std::function<void()> check_storage);
  ~Maintenance() { Stop(); }

  // Stops the thread, then writes what usage is still counted in memory.
  void Stop();

  // Writes the usage counted so far, every key's last use included; on
  // failure keeps it for the next try.
  void FlushUsage() { FlushUsage(/*everything=*/true); }

  // Reads the change log now rather than at the next poll (the store's
  // WatchKeyChanges signal). Any thread.
  void WakeFollower();

  // Wall-clock jumps of 2 s or more seen since the start. Any thread.
  uint64_t clock_jumps() const { return clock_jumps_.load(std::memory_order_relaxed); }

 private:
  void Loop();
  void UsageLoop();  // writes usage and credits spent once a second
  void FlushUsage(bool everything);
  void FollowLoop();
  void Prune();
  // Logs a failing job once when it starts failing and once when it works
  // again, never once per try.
  void Report(const char* job, const Status& s, bool* failing);

  KeyStore* store_;
  ChangeFollower* follower_;
  UsageRecorder* usage_;
  CreditLedger* credits_;
  std::vector<RateLimiter*> limiters_;
  int64_t retention_days_;
  const Clock* clock_;
  std::function<void()> check_storage_;
  // Watches wall_source, the clock under clock_ (the App's
  // NonDecreasingClock holds still after a jump back, so it would hide one),
  // for jumps of its wall time; the maintenance thread's own.
  ClockJumpDetector jumps_;
  std::atomic<uint64_t> clock_jumps_{0};
  Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  bool follow_now_ GUARDED_BY(mu_) = false;
  std::condition_variable_any follow_cv_;
  bool follower_failing_ = false;  // the follower thread's own
  Mutex flush_mu_;                 // one usage flush at a time
  bool usage_failing_ GUARDED_BY(flush_mu_) = false;
  std::thread thread_;
  std::thread follower_thread_;
  std::condition_variable_any usage_cv_;
  std::thread usage_thread_;
};

}  // namespace keyward

#endif  // KEYWARD_APP_MAINTENANCE_H_
