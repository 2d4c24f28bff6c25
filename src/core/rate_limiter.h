// Per-key rate limits, enforced in memory with GCRA (the generic cell rate
// algorithm: a token bucket kept as one timestamp per key). A limit of
// `limit` requests per `period_seconds` admits a burst of `limit` and then
// one request every period/limit.
// Thread-safe: sharded; a key's state is touched under its shard's mutex
// only, so serving threads do not serialise on one lock.
#ifndef KEYWARD_CORE_RATE_LIMITER_H_
#define KEYWARD_CORE_RATE_LIMITER_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/model.h"
#include "core/mutex.h"

namespace keyward {

struct RateLimitDecision {
  bool allowed = true;
  int64_t limit = 0;
  int64_t remaining = 0;            // requests left in the window after this one
  int64_t reset_seconds = 0;        // until the bucket is full again
  int64_t retry_after_seconds = 0;  // when refused: until one more is admitted
};

class RateLimiter {
 public:
  // Takes one request from key_id's bucket when it has room.
  // key: a 64-bit identity of what is limited (a key's hash prefix, an
  // address's hash), so a lookup builds and hashes no string.
  RateLimitDecision Take(uint64_t key, const RateLimit& limit, Timestamp now);

  // Whether a Take now would be admitted, without taking anything.
  bool WouldAdmit(uint64_t key, const RateLimit& limit, Timestamp now) const;

  // Drops state that has fully refilled by now, to bound memory.
  void Prune(Timestamp now);

  size_t TrackedKeys() const;

 private:
  struct Shard {
    mutable Mutex mu;
    // Theoretical arrival time, in microseconds since the epoch.
    std::unordered_map<uint64_t, int64_t> tat GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 64;
  Shard& ShardFor(uint64_t key) { return shards_[(key >> 40) % kShards]; }
  const Shard& ShardFor(uint64_t key) const { return shards_[(key >> 40) % kShards]; }
  std::array<Shard, kShards> shards_;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_RATE_LIMITER_H_
