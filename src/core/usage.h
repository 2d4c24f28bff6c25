// UsageRecorder: verification counts (and the credits they spent) per key,
// per minute and per answer code, and each key's last successful use, gathered in memory on the
// verification path and drained in batches to storage (at most once a
// second and at a graceful stop). No request writes to storage.
//
// Entries are keyed by the cached record's address, minute and code, so
// recording builds no string; the record is kept alive by the entry until
// the next drain.
//
// A key's last successful use is noted in its record (to the second) and
// the record listed once until it is written. Writing last_used_at touches
// the key's row, so with many keys in use each drain would rewrite most of
// the key table. While few keys wait (kEagerLastUses) they go with every
// drain. Past that they are collected, at most once a minute, and written
// kLastUsesPerDrain a drain, oldest first; the next collection waits until
// this one is written. So no drain writes more than kLastUsesPerDrain rows
// of api_keys, and last_used_at lags by a second while few keys are in use,
// by a minute under load, and by (keys in use / kLastUsesPerDrain) seconds
// with more keys in use than that a minute (about 8 minutes with a million
// keys in use; AWS updates an access key's "last used" within 4 hours).
// The flag that lists a record is the record's own: a record is counted by
// one recorder (an App has one recorder and one cache).
// Thread-safe. Each recording thread counts into a buffer of its own, whose
// mutex only that thread and Drain ever take: serving threads share no lock
// and no cache line here, and a drain holds each buffer's lock only to swap
// its map out. A recorder keeps one buffer per thread that ever recorded.
#ifndef KEYWARD_CORE_USAGE_H_
#define KEYWARD_CORE_USAGE_H_

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/code.h"
#include "core/mutex.h"
#include "core/verifier.h"

namespace keyward {

struct UsageStats {
  uint64_t pending_rows = 0;  // rows put back, waiting for storage
  uint64_t dropped = 0;       // verifications whose count was dropped
  uint64_t dropped_rows = 0;  // rows dropped
};

class UsageRecorder {
 public:
  // last_uses_per_drain: kLastUsesPerDrain, smaller in tests.
  explicit UsageRecorder(size_t max_pending_rows = 200'000,
                         size_t last_uses_per_drain = kLastUsesPerDrain);

  // Keys whose last use goes with every drain, however recent the last
  // collection of them.
  static constexpr size_t kEagerLastUses = 2'000;
  static constexpr Timestamp kLastUsesEvery = 60'000;  // otherwise, ms
  // The most last uses one drain writes of a collection.
  static constexpr size_t kLastUsesPerDrain = 2'000;

  // credits: what the verification spent (0 unless valid).
  // key: alive for the call (a reference is taken when it is kept).
  void Record(const VerifiableKey* key, Code code, Timestamp now, int64_t credits = 0);
  void Record(const KeyRef& key, Code code, Timestamp now, int64_t credits = 0) {
    Record(key.get(), code, now, credits);
  }
  // Everything recorded since the last drain, rows merged per key id, with
  // the keys' last uses when they are due: few of them waiting, or the next
  // chunk of a collection (made kLastUsesEvery or more after the last one,
  // once that one is written) (now: a monotonic clock's ms).
  UsageBatch Drain(Timestamp now);
  // Everything, every last use included: at a stop, or when a caller needs
  // all of it stored.
  UsageBatch DrainAll();
  // Puts a batch back (after storage refused it), to try again later:
  // merged with what already waits, then cut to max_pending_rows.
  void Restore(const UsageBatch& batch);
  UsageStats Stats() const;

 private:
  // One counter: a key's verifications with one answer code in one minute.
  struct Counter {
    KeyRef key;  // keeps the record alive until drained; null: a free cell
    int64_t minute = 0;
    Code code = Code::kValid;
    int64_t count = 0;
    int64_t credits = 0;
  };
  // A thread's counters: open addressing in one block that only its thread
  // writes between drains. A node per counter (what std::unordered_map
  // makes) would be allocated right after the key record the same request
  // resolved, in the same cache line, and every count would then take that
  // line away from the other threads reading the record.
  class CounterTable {
   public:
    // The counter of (key, minute, code), made when new.
    Counter& At(const VerifiableKey* key, int64_t minute, Code code);
    // Room for n counters without growing.
    void Reserve(size_t n);
    size_t size() const { return size_; }
    const std::vector<Counter>& cells() const { return cells_; }  // free ones have no key
    void swap(CounterTable& o) noexcept {
      cells_.swap(o.cells_);
      std::swap(size_, o.size_);
    }

   private:
    static size_t Home(const VerifiableKey* key, int64_t minute, Code code, size_t mask);
    // Moves every counter into a new block of cells (a power of two).
    void Rehash(size_t cells);
    std::vector<Counter> cells_;  // a power of two long, at most 3/4 used
    size_t size_ = 0;
  };
  struct alignas(64) Buffer {
    Mutex mu;
    CounterTable counters GUARDED_BY(mu);
    // Counters the last drain took: only drains (one at a time, under
    // drain_mu_) read and write it, so the thread's lock does not guard it.
    size_t drained = 0;
    std::vector<KeyRef> used GUARDED_BY(mu);  // records with a last use to write
  };
  // This thread's buffer, made on its first record.
  Buffer& ThreadBuffer();
  // collect: move every listed record to collecting_; then up to max_uses
  // of collecting_ go in the batch.
  UsageBatch DrainBuffers(bool collect, size_t max_uses) REQUIRES(drain_mu_);

  const uint64_t id_;  // unique among all recorders ever made, for ThreadBuffer
  Mutex buffers_mu_;
  std::vector<std::unique_ptr<Buffer>> buffers_ GUARDED_BY(buffers_mu_);
  const size_t max_pending_rows_;
  const size_t last_uses_per_drain_;
  Mutex drain_mu_;  // one drain at a time decides whether uses are due
  Timestamp uses_taken_at_ GUARDED_BY(drain_mu_) = 0;
  bool uses_taken_ GUARDED_BY(drain_mu_) = false;
  // Records collected and not yet written, oldest first; each is listed
  // once (its flag stays set until TakeUse), so a key is here at most once
  // a record.
  std::deque<KeyRef> collecting_ GUARDED_BY(drain_mu_);
  mutable Mutex restored_mu_;
  UsageBatch restored_ GUARDED_BY(restored_mu_);
  uint64_t dropped_ GUARDED_BY(restored_mu_) = 0;
  uint64_t dropped_rows_ GUARDED_BY(restored_mu_) = 0;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_USAGE_H_
