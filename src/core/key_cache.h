// KeyCache: verification answers from memory. A concurrent cache from key
// hash to the immutable, compiled key record, with negative entries for
// hashes no key has, a bounded size, and exact invalidation.
//
// A hit takes no lock and writes nothing shared (Peek): the caller holds an
// epoch guard (core/epoch.h), probes the table with atomic loads, and uses
// the record without a reference count for as long as the guard lives.
// Records and tables that writers drop are freed through the epoch domain,
// once no guard can still see them. So threads that verify the same keys
// share only cache lines that nobody writes.
//
// Writers (misses, invalidations, evictions) take their shard's mutex (64
// shards). Each shard keeps its records in an open-addressing table of
// pointers (linear probing, backward-shift deletion, at most 3/4 full): 8
// bytes a slot instead of a hash-map node, since the record holds its own
// hash. A lock-free probe that races a writer's shift may miss a record
// that is there; Peek then says so and the caller asks Resolve, which
// looks again under the lock. Eviction is random (the first record at a
// position that moves with each eviction), which needs no bookkeeping on
// hits.
//
// Invalidation is exact and race-free: each shard has an epoch, bumped by
// every invalidation; a miss notes the epoch before it reads storage and
// stores its answer only if the epoch has not moved, so a record read
// before a revocation can never be cached after it.
//
// Thread-safe.
#ifndef KEYWARD_CORE_KEY_CACHE_H_
#define KEYWARD_CORE_KEY_CACHE_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/epoch.h"
#include "core/key_service.h"
#include "core/key_store.h"
#include "core/mutex.h"
#include "core/verifier.h"

namespace keyward {

struct KeyCacheStats {
  uint64_t hits = 0;
  uint64_t negative_hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t invalidations = 0;
  size_t entries = 0;
  size_t negative_entries = 0;
};

class KeyCache final : public KeyResolver, public KeyChangeObserver {
 public:
  // capacity: most keys held; negative entries get a quarter of it on top.
  KeyCache(KeyResolver* backing, size_t capacity);

  Result<KeyRef> Resolve(const KeyHash& hash) override;
  // The cached record for hash, or null (not cached, or a probe that raced
  // a writer): lock-free, for a caller inside an EpochGuard, and valid
  // until that guard ends.
  const VerifiableKey* Peek(const KeyHash& hash) override;

  // Drops what the cache holds for hash, positive or negative.
  void Invalidate(const KeyHash& hash);
  void Clear();

  // KeyChangeObserver: a change made through this node.
  void OnKeyChanged(const ApiKey& key) override { Invalidate(key.hash); }

  KeyCacheStats Stats() const;

 private:
  static constexpr size_t kShards = 64;
  // Records by hash: each slot holds one counted reference, or null.
  // Find may run concurrently with the writers (inside an EpochGuard);
  // writers are serialised by the shard's mutex. What a writer drops (a
  // record's reference, an outgrown slot array) is retired to the epoch
  // domain, not freed.
  class Table {
   public:
    Table() = default;
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;
    // No reader may be left: records are released and slots freed at once.
    ~Table();
    const VerifiableKey* Find(const KeyHash& hash) const;
    // Adds a reference to key (whose hash is not in the table).
    void Insert(KeyRef key);
    bool Erase(const KeyHash& hash);
    // Drops one record chosen by cursor; the table must not be empty.
    void EvictOne(size_t cursor);
    void Clear();
    size_t size() const { return size_; }

   private:
    struct Slots {
      explicit Slots(size_t n) : mask(n - 1), at(new std::atomic<const VerifiableKey*>[n]()) {}
      size_t mask;  // size - 1, a power of two
      std::unique_ptr<std::atomic<const VerifiableKey*>[]> at;
    };
    static size_t Home(const KeyHash& h, size_t mask) { return KeyHashHasher{}(h)&mask; }
    // The first empty slot from hash's home on (a writer's; never full).
    static std::atomic<const VerifiableKey*>& FreeSlot(Slots& slots, const KeyHash& hash);
    void EraseAt(size_t i);
    void Grow();
    std::atomic<Slots*> slots_{nullptr};  // null until the first insert
    size_t size_ = 0;
  };
  // Counts hits made without the lock: a cell per thread (up to kCells
  // threads apart), so that no two serving threads write one line.
  class HitCounter {
   public:
    void Add();
    uint64_t Sum() const;

   private:
    static constexpr size_t kCells = 16;
    struct alignas(64) Cell {
      std::atomic<uint64_t> n{0};
    };
    std::array<Cell, kCells> cells_;
  };
  // Its own cache line: shards are locked by different threads.
  struct alignas(64) Shard {
    mutable Mutex mu;
    Table keys GUARDED_BY(mu);
    std::unordered_map<KeyHash, char, KeyHashHasher, KeyHashEq> unknown GUARDED_BY(mu);
    uint64_t epoch GUARDED_BY(mu) = 0;
    // Counted under the lock already held: no shared atomic per request.
    uint64_t hits GUARDED_BY(mu) = 0;
    uint64_t negative_hits GUARDED_BY(mu) = 0;
    uint64_t misses GUARDED_BY(mu) = 0;
    uint64_t evictions GUARDED_BY(mu) = 0;
    uint64_t invalidations GUARDED_BY(mu) = 0;
  };
  // A different part of the hash than the tables' hasher uses.
  static size_t ShardOf(const KeyHash& h) { return h[8] % kShards; }

  KeyResolver* backing_;
  size_t per_shard_;
  size_t per_shard_negative_;
  std::array<Shard, kShards> shards_;
  HitCounter peek_hits_;
  std::atomic<uint64_t> clears_{0};
};

}  // namespace keyward

namespace keyward {

// Follows the store's change log and invalidates what changed, so that a
// change made by another keyward process on the same database reaches this
// node's cache at the next Poll. Not thread-safe: one poller.
class ChangeFollower {
 public:
  // on_policy_change, when set, hears of every change to a workspace's or
  // plan's settings (and of a cleared cache), to drop cached policies.
  ChangeFollower(KeyStore* store, KeyCache* cache, std::function<void()> on_policy_change = {})
      : store_(store), cache_(cache), on_policy_change_(std::move(on_policy_change)) {}

  // Starts from the newest change: what the cache holds now came after it.
  Status Start();
  // Invalidates every change since the last poll. Past kMaxBatch changes at
  // once, clears the whole cache instead.
  Status Poll();

  static constexpr int kMaxBatch = 1000;

 private:
  KeyStore* store_;
  KeyCache* cache_;
  std::function<void()> on_policy_change_;
  int64_t last_seq_ = 0;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_KEY_CACHE_H_
