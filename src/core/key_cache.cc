#include "core/key_cache.h"

#include <algorithm>

#include "core/thread_stripe.h"

namespace keyward {

namespace {

// The deleter of a record's reference that a table dropped.
void ReleaseRecord(void* record) { static_cast<const VerifiableKey*>(record)->Release(); }

}  // namespace

std::atomic<const VerifiableKey*>& KeyCache::Table::FreeSlot(Slots& slots, const KeyHash& hash) {
  size_t i = Home(hash, slots.mask);
  while (slots.at[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & slots.mask;
  return slots.at[i];
}

KeyCache::Table::~Table() {
  Slots* slots = slots_.load(std::memory_order_relaxed);
  if (slots == nullptr) return;
  for (size_t i = 0; i <= slots->mask; ++i) {
    if (const VerifiableKey* k = slots->at[i].load(std::memory_order_relaxed)) k->Release();
  }
  delete slots;
}

const VerifiableKey* KeyCache::Table::Find(const KeyHash& hash) const {
  const Slots* slots = slots_.load(std::memory_order_acquire);
  if (slots == nullptr) return nullptr;
  const size_t mask = slots->mask;
  // At most one lap: a reader racing the writers' shifts never loops.
  size_t i = Home(hash, mask);
  for (size_t step = 0; step <= mask; ++step, i = (i + 1) & mask) {
    const VerifiableKey* k = slots->at[i].load(std::memory_order_acquire);
    if (k == nullptr) return nullptr;
    if (KeyHashEq{}(k->hash(), hash)) return k;
  }
  return nullptr;
}

void KeyCache::Table::Insert(KeyRef key) {
  Slots* slots = slots_.load(std::memory_order_relaxed);
  if (slots == nullptr || (size_ + 1) * 4 > (slots->mask + 1) * 3) {
    Grow();
    slots = slots_.load(std::memory_order_relaxed);
  }
  key->AddRef();  // the slot's own reference, released by EraseAt or Clear
  FreeSlot(*slots, key->hash()).store(key.get(), std::memory_order_release);
  ++size_;
}

void KeyCache::Table::Grow() {
  Slots* old = slots_.load(std::memory_order_relaxed);
  auto* grown = new Slots(old == nullptr ? 16 : (old->mask + 1) * 2);
  if (old != nullptr) {
    for (size_t j = 0; j <= old->mask; ++j) {
      const VerifiableKey* k = old->at[j].load(std::memory_order_relaxed);
      if (k == nullptr) continue;
      // The reference moves with the pointer.
      FreeSlot(*grown, k->hash()).store(k, std::memory_order_relaxed);
    }
  }
  slots_.store(grown, std::memory_order_release);
  // Readers may still probe the old array.
  if (old != nullptr) EpochDomain::Get().RetireObject(old);
}

bool KeyCache::Table::Erase(const KeyHash& hash) {
  Slots* slots = slots_.load(std::memory_order_relaxed);
  if (slots == nullptr) return false;
  const size_t mask = slots->mask;
  for (size_t i = Home(hash, mask);; i = (i + 1) & mask) {
    const VerifiableKey* k = slots->at[i].load(std::memory_order_relaxed);
    if (k == nullptr) return false;
    if (KeyHashEq{}(k->hash(), hash)) {
      EraseAt(i);
      return true;
    }
  }
}

void KeyCache::Table::EvictOne(size_t cursor) {
  Slots* slots = slots_.load(std::memory_order_relaxed);
  const size_t mask = slots->mask;
  size_t i = cursor & mask;
  while (slots->at[i].load(std::memory_order_relaxed) == nullptr) i = (i + 1) & mask;
  EraseAt(i);
}

// Backward-shift deletion: the records after the hole that would be found
// through it move up, so that no probe ever stops early at the hole. A
// reader between the two stores of a move sees the record twice; one that
// passed the hole before the move sees it nowhere, and asks Resolve.
void KeyCache::Table::EraseAt(size_t hole) {
  Slots* slots = slots_.load(std::memory_order_relaxed);
  auto& at = slots->at;
  const VerifiableKey* gone = at[hole].load(std::memory_order_relaxed);
  at[hole].store(nullptr, std::memory_order_release);
  // Readers may still hold it: the reference goes once they are done.
  EpochDomain::Get().Retire(const_cast<VerifiableKey*>(gone), &ReleaseRecord);
  --size_;
  const size_t mask = slots->mask;
  for (size_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
    const VerifiableKey* k = at[j].load(std::memory_order_relaxed);
    if (k == nullptr) break;
    const size_t home = Home(k->hash(), mask);
    // The record at j stays when its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    at[hole].store(k, std::memory_order_release);
    at[j].store(nullptr, std::memory_order_release);
    hole = j;
  }
}

void KeyCache::Table::Clear() {
  Slots* slots = slots_.load(std::memory_order_relaxed);
  if (slots == nullptr) return;
  for (size_t i = 0; i <= slots->mask; ++i) {
    const VerifiableKey* k = slots->at[i].load(std::memory_order_relaxed);
    if (k == nullptr) continue;
    slots->at[i].store(nullptr, std::memory_order_release);
    EpochDomain::Get().Retire(const_cast<VerifiableKey*>(k), &ReleaseRecord);
  }
  size_ = 0;
}

void KeyCache::HitCounter::Add() {
  cells_[ThreadStripe() % kCells].n.fetch_add(1, std::memory_order_relaxed);
}

uint64_t KeyCache::HitCounter::Sum() const {
  uint64_t n = 0;
  for (const Cell& c : cells_) n += c.n.load(std::memory_order_relaxed);
  return n;
}

KeyCache::KeyCache(KeyResolver* backing, size_t capacity)
    : backing_(backing),
      per_shard_(std::max<size_t>(capacity / kShards, 1)),
      per_shard_negative_(std::max<size_t>(capacity / kShards / 4, 1)) {}

// Reads the table without its shard's lock, as Table::Find allows.
const VerifiableKey* KeyCache::Peek(const KeyHash& hash) NO_THREAD_SAFETY_ANALYSIS {
  const VerifiableKey* k = shards_[ShardOf(hash)].keys.Find(hash);
  if (k != nullptr) peek_hits_.Add();
  return k;
}

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
  EpochDomain::Get().Reclaim();
}

KeyCacheStats KeyCache::Stats() const {
  KeyCacheStats s;
  s.invalidations = clears_.load(std::memory_order_relaxed);
  s.hits = peek_hits_.Sum();
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
  // Frees the records the cache dropped that no reader holds any more.
  EpochDomain::Get().Reclaim();
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
