#include "core/key_cache.h"

#include <algorithm>

namespace keyward {

const VerifiableKey* KeyCache::Table::Find(const KeyHash& hash) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = Home(hash, mask);; i = (i + 1) & mask) {
    const VerifiableKey* k = slots_[i];
    if (k == nullptr) return nullptr;
    if (KeyHashEq{}(k->hash(), hash)) return k;
  }
}

void KeyCache::Table::Insert(KeyRef key) {
  if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
  const size_t mask = slots_.size() - 1;
  size_t i = Home(key->hash(), mask);
  while (slots_[i] != nullptr) i = (i + 1) & mask;
  key->AddRef();  // the slot's own reference, released by EraseAt or Clear
  slots_[i] = key.get();
  ++size_;
}

void KeyCache::Table::Grow() {
  std::vector<const VerifiableKey*> old(std::max<size_t>(slots_.size() * 2, 16), nullptr);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const VerifiableKey* k : old) {
    if (k == nullptr) continue;
    size_t i = Home(k->hash(), mask);
    while (slots_[i] != nullptr) i = (i + 1) & mask;
    slots_[i] = k;  // the reference moves with the pointer
  }
}

bool KeyCache::Table::Erase(const KeyHash& hash) {
  if (slots_.empty()) return false;
  const size_t mask = slots_.size() - 1;
  for (size_t i = Home(hash, mask);; i = (i + 1) & mask) {
    const VerifiableKey* k = slots_[i];
    if (k == nullptr) return false;
    if (KeyHashEq{}(k->hash(), hash)) {
      EraseAt(i);
      return true;
    }
  }
}

void KeyCache::Table::EvictOne(size_t cursor) {
  const size_t mask = slots_.size() - 1;
  size_t i = cursor & mask;
  while (slots_[i] == nullptr) i = (i + 1) & mask;
  EraseAt(i);
}

// Backward-shift deletion: the records after the hole that would be found
// through it move up, so that no probe ever stops early at the hole.
void KeyCache::Table::EraseAt(size_t hole) {
  slots_[hole]->Release();
  slots_[hole] = nullptr;
  --size_;
  const size_t mask = slots_.size() - 1;
  for (size_t j = (hole + 1) & mask; slots_[j] != nullptr; j = (j + 1) & mask) {
    const size_t home = Home(slots_[j]->hash(), mask);
    // The record at j stays when its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    slots_[j] = nullptr;
    hole = j;
  }
}

void KeyCache::Table::Clear() {
  for (const VerifiableKey*& k : slots_) {
    if (k != nullptr) k->Release();
    k = nullptr;
  }
  size_ = 0;
}

KeyCache::KeyCache(KeyResolver* backing, size_t capacity)
    : backing_(backing),
      per_shard_(std::max<size_t>(capacity / kShards, 1)),
      per_shard_negative_(std::max<size_t>(capacity / kShards / 4, 1)) {}

Result<KeyRef> KeyCache::Resolve(const KeyHash& hash) {
  Shard& shard = shards_[ShardOf(hash)];
  uint64_t epoch;
  {
    MutexLock lock(&shard.mu);
    if (const VerifiableKey* k = shard.keys.Find(hash)) {
      ++shard.hits;
      return KeyRef(k);
    }
    if (shard.unknown.count(hash) != 0) {
      ++shard.negative_hits;
      return KeyRef();
    }
    ++shard.misses;
    epoch = shard.epoch;
  }
  auto found = backing_->Resolve(hash);
  if (!found.ok()) return found;  // storage trouble is never cached
  MutexLock lock(&shard.mu);
  if (shard.epoch != epoch) return found;  // invalidated meanwhile: answer, but do not keep
  if (*found) {
    // A record is kept under its own hash only (a backing store that
    // answered another key's record is answered, never cached).
    if (!KeyHashEq{}((*found)->hash(), hash) || shard.keys.Find(hash) != nullptr) return found;
    if (shard.keys.size() >= per_shard_) {
      // The position moves by a large odd step: a different victim each time.
      shard.keys.EvictOne(static_cast<size_t>(shard.evictions * 0x9E3779B97F4A7C15ULL >> 7));
      ++shard.evictions;
    }
    shard.keys.Insert(*found);
  } else {
    if (shard.unknown.size() >= per_shard_negative_) {
      shard.unknown.erase(shard.unknown.begin());
      ++shard.evictions;
    }
    shard.unknown.emplace(hash, 0);
  }
  return found;
}

void KeyCache::Invalidate(const KeyHash& hash) {
  Shard& shard = shards_[ShardOf(hash)];
  MutexLock lock(&shard.mu);
  shard.keys.Erase(hash);
  shard.unknown.erase(hash);
  ++shard.epoch;
  ++shard.invalidations;
}

void KeyCache::Clear() {
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    shard.keys.Clear();
    shard.unknown.clear();
    ++shard.epoch;
  }
  clears_.fetch_add(1, std::memory_order_relaxed);
}

KeyCacheStats KeyCache::Stats() const {
  KeyCacheStats s;
  s.invalidations = clears_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    s.hits += shard.hits;
    s.negative_hits += shard.negative_hits;
    s.misses += shard.misses;
    s.evictions += shard.evictions;
    s.invalidations += shard.invalidations;
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
