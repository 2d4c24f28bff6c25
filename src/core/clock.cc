#include "core/clock.h"

#include <time.h>

namespace keyward {

Timestamp SystemClock::Now() const {
  // The coarse clock is read from memory the kernel updates each tick (1-4
  // ms): several times cheaper than the precise one, on the hot path of every
  // verification, and fine for expiry, rate limits and timestamps in ms.
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<Timestamp>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

}  // namespace keyward
