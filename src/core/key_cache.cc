#include "core/key_cache.h"

#include <algorithm>

namespace keyward {

KeyCache::KeyCache(KeyResolver* backing, size_t capacity)
    : backing_(backing),
      per_shard_(std::max<size_t>(capacity / kShards, 1)),
      per_shard_negative_(std::max<size_t>(capacity / kShards / 4, 1)) {}

Result<std::shared_ptr<const VerifiableKey>> KeyCache::Resolve(const KeyHash& hash) {
  Shard& shard = shards_[ShardOf(hash)];
  uint64_t epoch;
  {
    MutexLock lock(&shard.mu);
    if (auto it = shard.keys.find(hash); it != shard.keys.end()) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second;
    }
    if (shard.unknown.count(hash) != 0) {
      negative_hits_.fetch_add(1, std::memory_order_relaxed);
      return std::shared_ptr<const VerifiableKey>();
    }
    epoch = shard.epoch;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  auto found = backing_->Resolve(hash);
  if (!found.ok()) return found;  // storage trouble is never cached
  MutexLock lock(&shard.mu);
  if (shard.epoch != epoch) return found;  // invalidated meanwhile: answer, but do not keep
  if (*found) {
    if (shard.keys.size() >= per_shard_) {
      shard.keys.erase(shard.keys.begin());
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    shard.keys.emplace(hash, *found);
  } else {
    if (shard.unknown.size() >= per_shard_negative_) {
      shard.unknown.erase(shard.unknown.begin());
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    shard.unknown.emplace(hash, 0);
  }
  return found;
}

void KeyCache::Invalidate(const KeyHash& hash) {
  Shard& shard = shards_[ShardOf(hash)];
  MutexLock lock(&shard.mu);
  shard.keys.erase(hash);
  shard.unknown.erase(hash);
  ++shard.epoch;
  invalidations_.fetch_add(1, std::memory_order_relaxed);
}

void KeyCache::Clear() {
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    shard.keys.clear();
    shard.unknown.clear();
    ++shard.epoch;
  }
  invalidations_.fetch_add(1, std::memory_order_relaxed);
}

KeyCacheStats KeyCache::Stats() const {
  KeyCacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.negative_hits = negative_hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.invalidations = invalidations_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    s.entries += shard.keys.size();
    s.negative_entries += shard.unknown.size();
  }
  return s;
}

}  // namespace keyward

namespace keyward {

Status ChangeFollower::Start() {
  auto latest = store_->LatestKeyChange();
  if (!latest.ok()) return latest.status();
  last_seq_ = *latest;
  return Status::Ok();
}

Status ChangeFollower::Poll() {
  auto changes = store_->KeyChangesSince(last_seq_, kMaxBatch);
  if (!changes.ok()) return changes.status();
  if (changes->empty()) return Status::Ok();
  if (changes->size() >= static_cast<size_t>(kMaxBatch)) {
    // Too much changed to follow one by one: start over from a cold cache.
    auto latest = store_->LatestKeyChange();
    if (!latest.ok()) return latest.status();
    cache_->Clear();
    if (on_policy_change_) on_policy_change_();
    last_seq_ = *latest;
    return Status::Ok();
  }
  bool policy = false;
  for (const auto& c : *changes) {
    if (c.policy()) {
      policy = true;
    } else {
      cache_->Invalidate(c.hash);
    }
  }
  if (policy && on_policy_change_) on_policy_change_();
  last_seq_ = changes->back().seq;
  return Status::Ok();
}

}  // namespace keyward
