// Per-key rate limits with GCRA (the generic cell rate algorithm: a token
// bucket kept as one timestamp per key). A limit of `limit` requests per
// `period_seconds` admits a burst of `limit` and then one request every
// period/limit.
//
// RateLimiter is the contract the verifier uses; MemoryRateLimiter keeps the
// state in this process (one node's limits), and limits/redis/ holds an
// engine that shares it between nodes. Every engine answers the same
// RateLimitDecision for the same sequence of requests.
// Thread-safe: every engine may be called from any number of threads.
// MemoryRateLimiter updates a known key's state without a lock (below).
#ifndef KEYWARD_CORE_RATE_LIMITER_H_
#define KEYWARD_CORE_RATE_LIMITER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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
  virtual ~RateLimiter() = default;

  // Takes one request from key's bucket when it has room.
  // key: a 64-bit identity of what is limited (a key's hash prefix, an
  // address's hash), so a lookup builds and hashes no string.
  // now: the caller's monotonic clock (Clock::Monotonic), the same one for
  // every call on one limiter, Prune included, so that setting the wall
  // clock neither frees nor locks out a key. An engine shared between nodes
  // may use a clock of its own instead, so that nodes whose clocks differ
  // agree; the decision's durations are what the caller sees either way.
  virtual RateLimitDecision Take(uint64_t key, const RateLimit& limit, Timestamp now) = 0;

  // Whether a Take now would be admitted, without taking anything.
  virtual bool WouldAdmit(uint64_t key, const RateLimit& limit, Timestamp now) const = 0;

  // Drops state that has fully refilled by now (on the clock Take is given),
  // to bound memory. A no-op for engines whose state expires by itself.
  virtual void Prune(Timestamp now) = 0;

  // How many keys hold state in this process (0 when the state lives
  // elsewhere).
  virtual size_t TrackedKeys() const = 0;

  // True only when no key holds any state, so that every WouldAdmit would
  // answer true: a caller may then skip the question (one atomic load
  // instead of a lock). Engines that cannot tell cheaply answer false.
  virtual bool HoldsNoState() const { return false; }
};

// The in-process engine: one node's limits, kept in memory.
//
// A Take on a key that holds state takes no lock: it finds the key's cell
// in its shard's open-addressing table (inside an epoch guard, as the key
// cache is read) and moves the cell's time on with a compare-and-swap, so
// two threads limiting different keys share no written cache line, and two
// limiting one key share only that key's cell, which an exact shared limit
// needs. A key's first Take, growth and Prune take the shard's mutex; they
// build a new table and retire the old one to the epoch domain. A cell
// whose table is being replaced is marked moved, and a Take that meets the
// mark looks again under the mutex, so no Take is ever lost.
class MemoryRateLimiter final : public RateLimiter {
 public:
  MemoryRateLimiter() = default;
  MemoryRateLimiter(const MemoryRateLimiter&) = delete;
  MemoryRateLimiter& operator=(const MemoryRateLimiter&) = delete;
  ~MemoryRateLimiter() override;

  RateLimitDecision Take(uint64_t key, const RateLimit& limit, Timestamp now) override;
  bool WouldAdmit(uint64_t key, const RateLimit& limit, Timestamp now) const override;
  void Prune(Timestamp now) override;
  size_t TrackedKeys() const override;
  bool HoldsNoState() const override { return tracked_.load(std::memory_order_acquire) == 0; }

 private:
  // One key's state: its theoretical arrival time, in microseconds on the
  // caller's clock. A time at or before now is the same as no state.
  struct Cell {
    std::atomic<uint64_t> key{0};  // 0: free (a key 0 is stored as kZeroKey)
    std::atomic<int64_t> tat{0};
  };
  struct Cells {
    explicit Cells(size_t n) : mask(n - 1), at(new Cell[n]) {}
    size_t mask;  // size - 1, a power of two
    std::unique_ptr<Cell[]> at;
  };
  // Its own cache line: shards are locked by different threads.
  struct alignas(64) Shard {
    mutable Mutex mu;                    // first Takes, growth, Prune
    std::atomic<Cells*> cells{nullptr};  // null until the first key
    size_t used GUARDED_BY(mu) = 0;      // cells holding a key
  };
  static constexpr size_t kShards = 64;
  static constexpr int64_t kMoved = INT64_MIN;  // the cell's table is being replaced
  static constexpr uint64_t kZeroKey = 0x9E3779B97F4A7C15ULL;
  static uint64_t Stored(uint64_t key) { return key == 0 ? kZeroKey : key; }
  Shard& ShardFor(uint64_t key) { return shards_[(key >> 40) % kShards]; }
  const Shard& ShardFor(uint64_t key) const { return shards_[(key >> 40) % kShards]; }
  static Cell* Find(Cells* cells, uint64_t key);
  // The first free cell from key's home on (a writer's; never full).
  static Cell& FreeCell(Cells& cells, uint64_t key);
  // Replaces shard's table by one that holds the keys whose time is past
  // now_us, with room for at least `room` more; marks every old cell moved.
  void Rebuild(Shard& shard, int64_t now_us, size_t room) REQUIRES(shard.mu);
  std::array<Shard, kShards> shards_;
  // Keys holding state, over all shards: changed only when one is added or
  // pruned, so reading it shares a cache line that is rarely written.
  std::atomic<size_t> tracked_{0};
};

}  // namespace keyward

#endif  // KEYWARD_CORE_RATE_LIMITER_H_
