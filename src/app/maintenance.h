// The background work of a node: follows the key change log and flushes the
// access log (every 200 ms), writes usage counters (every second), forgets
// rate-limit state that has refilled (every minute), prunes old change-log
// entries and usage past its retention (every hour). Owned by App.
// Thread-safe: Stop may be called from any thread, once or more; the work
// runs on one thread of its own.
#ifndef KEYWARD_APP_MAINTENANCE_H_
#define KEYWARD_APP_MAINTENANCE_H_

#include <condition_variable>
#include <thread>
#include <vector>

#include "core/key_cache.h"
#include "core/key_store.h"
#include "core/mutex.h"
#include "core/rate_limiter.h"
#include "core/usage.h"

namespace keyward {

class Maintenance {
 public:
  Maintenance(KeyStore* store, ChangeFollower* follower, UsageRecorder* usage,
              std::vector<RateLimiter*> limiters, int64_t retention_days, const Clock* clock);
  ~Maintenance() { Stop(); }

  // Stops the thread, then writes what usage is still counted in memory.
  void Stop();

  // Writes the usage counted so far; on failure keeps it for the next try.
  void FlushUsage();

 private:
  void Loop();
  void Prune();

  KeyStore* store_;
  ChangeFollower* follower_;
  UsageRecorder* usage_;
  std::vector<RateLimiter*> limiters_;
  int64_t retention_days_;
  const Clock* clock_;
  Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace keyward

#endif  // KEYWARD_APP_MAINTENANCE_H_
