#include "core/rate_limiter.h"

#include <algorithm>
#include <functional>

namespace keyward {

bool MemoryRateLimiter::WouldAdmit(uint64_t key_id, const RateLimit& limit,
                                   Timestamp now_ms) const {
  if (limit.limit <= 0 || limit.period_seconds <= 0) return false;
  const int64_t now = now_ms * 1000;
  const int64_t period = limit.period_seconds * 1'000'000;
  const int64_t interval = std::max<int64_t>(period / limit.limit, 1);
  const Shard& shard = ShardFor(key_id);
  MutexLock lock(&shard.mu);
  auto it = shard.tat.find(key_id);
  if (it == shard.tat.end()) return true;
  return std::max(it->second, now) + interval - now <= period;
}

RateLimitDecision MemoryRateLimiter::Take(uint64_t key_id, const RateLimit& limit,
                                          Timestamp now_ms) {
  RateLimitDecision d;
  d.limit = limit.limit;
  if (limit.limit <= 0 || limit.period_seconds <= 0) {
    d.allowed = false;
    d.retry_after_seconds = std::max<int64_t>(limit.period_seconds, 1);
    return d;
  }
  const int64_t now = now_ms * 1000;
  const int64_t period = limit.period_seconds * 1'000'000;
  const int64_t interval = std::max<int64_t>(period / limit.limit, 1);
  Shard& shard = ShardFor(key_id);
  MutexLock lock(&shard.mu);
  auto it = shard.tat.find(key_id);
  const int64_t tat = it == shard.tat.end() ? now : std::max(it->second, now);
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
  if (it == shard.tat.end()) {
    shard.tat.emplace(key_id, new_tat);
    tracked_.fetch_add(1, std::memory_order_release);
  } else {
    it->second = new_tat;
  }
  d.remaining = std::min<int64_t>((period - (new_tat - now)) / interval, limit.limit - 1);
  d.reset_seconds = (new_tat - now + 999'999) / 1'000'000;
  return d;
}

void MemoryRateLimiter::Prune(Timestamp now_ms) {
  const int64_t now = now_ms * 1000;
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    const size_t pruned =
        std::erase_if(shard.tat, [now](const auto& kv) { return kv.second <= now; });
    tracked_.fetch_sub(pruned, std::memory_order_release);
  }
}

size_t MemoryRateLimiter::TrackedKeys() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    n += shard.tat.size();
  }
  return n;
}

}  // namespace keyward
