#include "core/rate_limiter.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "core/epoch.h"

namespace keyward {

namespace {

// GCRA on one bucket, in microseconds: what Take answers.
struct Gcra {
  Gcra(const RateLimit& limit, Timestamp now_ms)
      : now(now_ms * 1000),
        period(limit.period_seconds * 1'000'000),
        interval(std::max<int64_t>(period / limit.limit, 1)),
        limit(limit.limit) {}
  // A decision on a bucket whose time is seen; *next is its new time when
  // admitted.
  RateLimitDecision Decide(int64_t seen, int64_t* next) const {
    RateLimitDecision d;
    d.limit = limit;
    const int64_t tat = std::max(seen, now);
    const int64_t new_tat = tat + interval;
    // Admit while the bucket's backlog stays within one period.
    if (new_tat - now > period) {
      d.allowed = false;
      d.remaining = 0;
      const int64_t wait = new_tat - period - now;
      d.retry_after_seconds = std::max<int64_t>((wait + 999'999) / 1'000'000, 1);
      d.reset_seconds = (tat - now + 999'999) / 1'000'000;
      return d;
    }
    *next = new_tat;
    d.remaining = std::min<int64_t>((period - (new_tat - now)) / interval, limit - 1);
    d.reset_seconds = (new_tat - now + 999'999) / 1'000'000;
    return d;
  }
  bool Admits(int64_t seen) const { return std::max(seen, now) + interval - now <= period; }
  int64_t now, period, interval, limit;
};

}  // namespace

MemoryRateLimiter::~MemoryRateLimiter() {
  for (Shard& shard : shards_) delete shard.cells.load(std::memory_order_relaxed);
}

MemoryRateLimiter::Cell* MemoryRateLimiter::Find(Cells* cells, uint64_t key) {
  if (cells == nullptr) return nullptr;
  const size_t mask = cells->mask;
  size_t i = key & mask;
  for (size_t step = 0; step <= mask; ++step, i = (i + 1) & mask) {
    const uint64_t k = cells->at[i].key.load(std::memory_order_acquire);
    if (k == key) return &cells->at[i];
    if (k == 0) return nullptr;
  }
  return nullptr;
}

MemoryRateLimiter::Cell& MemoryRateLimiter::FreeCell(Cells& cells, uint64_t key) {
  size_t i = key & cells.mask;
  while (cells.at[i].key.load(std::memory_order_relaxed) != 0) i = (i + 1) & cells.mask;
  return cells.at[i];
}

bool MemoryRateLimiter::WouldAdmit(uint64_t key_id, const RateLimit& limit,
                                   Timestamp now_ms) const {
  if (limit.limit <= 0 || limit.period_seconds <= 0) return false;
  const Gcra gcra(limit, now_ms);
  const uint64_t key = Stored(key_id);
  const Shard& shard = ShardFor(key);
  {
    EpochGuard guard = EpochDomain::Get().Enter();
    const Cell* c = Find(shard.cells.load(std::memory_order_acquire), key);
    if (c == nullptr) return true;
    const int64_t seen = c->tat.load(std::memory_order_acquire);
    if (seen != kMoved) return gcra.Admits(seen);
  }
  MutexLock lock(&shard.mu);  // the table was being replaced: read the new one
  const Cell* c = Find(shard.cells.load(std::memory_order_relaxed), key);
  return c == nullptr || gcra.Admits(c->tat.load(std::memory_order_acquire));
}

RateLimitDecision MemoryRateLimiter::Take(uint64_t key_id, const RateLimit& limit,
                                          Timestamp now_ms) {
  if (limit.limit <= 0 || limit.period_seconds <= 0) {
    RateLimitDecision d;
    d.limit = limit.limit;
    d.allowed = false;
    d.retry_after_seconds = std::max<int64_t>(limit.period_seconds, 1);
    return d;
  }
  const Gcra gcra(limit, now_ms);
  const uint64_t key = Stored(key_id);
  Shard& shard = ShardFor(key);
  // Moves the cell's time on; nullopt when the cell was marked moved.
  auto take_from = [&gcra](Cell& c) -> std::optional<RateLimitDecision> {
    int64_t seen = c.tat.load(std::memory_order_acquire);
    for (;;) {
      if (seen == kMoved) return std::nullopt;
      int64_t next = 0;
      const RateLimitDecision d = gcra.Decide(seen, &next);
      if (!d.allowed) return d;  // a refusal takes nothing
      if (c.tat.compare_exchange_weak(seen, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return d;
      }
    }
  };
  {
    EpochGuard guard = EpochDomain::Get().Enter();
    if (Cell* c = Find(shard.cells.load(std::memory_order_acquire), key)) {
      if (auto d = take_from(*c)) return *d;
    }
  }
  // A key without state, or a table being replaced: under the lock, where
  // no cell moves.
  MutexLock lock(&shard.mu);
  Cells* cells = shard.cells.load(std::memory_order_relaxed);
  Cell* c = Find(cells, key);
  if (c == nullptr) {
    if (cells == nullptr || (shard.used + 1) * 4 > (cells->mask + 1) * 3) {
      Rebuild(shard, gcra.now, 1);
      cells = shard.cells.load(std::memory_order_relaxed);
    }
    c = &FreeCell(*cells, key);
    c->key.store(key, std::memory_order_release);  // its time is 0: no state yet
    ++shard.used;
    tracked_.fetch_add(1, std::memory_order_release);
  }
  return *take_from(*c);
}

void MemoryRateLimiter::Rebuild(Shard& shard, int64_t now_us, size_t room) {
  Cells* old = shard.cells.load(std::memory_order_relaxed);
  std::vector<std::pair<uint64_t, int64_t>> kept;
  if (old != nullptr) {
    for (size_t i = 0; i <= old->mask; ++i) {
      Cell& c = old->at[i];
      const uint64_t key = c.key.load(std::memory_order_relaxed);
      if (key == 0) continue;
      // The last time any Take gave it; later Takes meet the mark and wait.
      const int64_t t = c.tat.exchange(kMoved, std::memory_order_acq_rel);
      if (t > now_us) kept.emplace_back(key, t);
    }
  }
  // At most half full after a rebuild: room to grow before the next.
  size_t n = 16;
  while (n < (kept.size() + room) * 2) n *= 2;
  auto* cells = new Cells(n);
  for (const auto& [key, t] : kept) {
    Cell& c = FreeCell(*cells, key);
    c.tat.store(t, std::memory_order_relaxed);
    c.key.store(key, std::memory_order_relaxed);
  }
  shard.cells.store(cells, std::memory_order_release);
  tracked_.fetch_sub(shard.used - kept.size(), std::memory_order_release);
  shard.used = kept.size();
  // Lock-free readers may still probe the old table.
  if (old != nullptr) EpochDomain::Get().RetireObject(old);
}

void MemoryRateLimiter::Prune(Timestamp now_ms) {
  const int64_t now = now_ms * 1000;
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    Cells* cells = shard.cells.load(std::memory_order_relaxed);
    if (cells == nullptr || shard.used == 0) continue;
    bool stale = false;
    for (size_t i = 0; i <= cells->mask && !stale; ++i) {
      stale = cells->at[i].key.load(std::memory_order_relaxed) != 0 &&
              cells->at[i].tat.load(std::memory_order_acquire) <= now;
    }
    if (stale) Rebuild(shard, now, 0);
  }
}

size_t MemoryRateLimiter::TrackedKeys() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    n += shard.used;
  }
  return n;
}

}  // namespace keyward
