#include "core/usage.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace keyward {

void UsageRecorder::Record(const std::shared_ptr<const VerifiableKey>& key, Code code,
                           Timestamp now, int64_t credits) {
  if (!key) return;
  const Slot slot{key.get(), now / kMillisPerMinute, code};
  Shard& shard = shards_[SlotHash{}(slot) % kShards];
  MutexLock lock(&shard.mu);
  Counter& c = shard.counters[slot];
  if (!c.key) c.key = key;
  ++c.count;
  c.credits += credits;
  if (code == Code::kValid && now > c.last_valid) c.last_valid = now;
}

UsageBatch UsageRecorder::Drain() {
  std::map<std::tuple<std::string, int64_t, Code>, UsageRow> rows;
  std::map<std::string, Timestamp> last_used;
  for (auto& shard : shards_) {
    std::unordered_map<Slot, Counter, SlotHash> taken;
    {
      MutexLock lock(&shard.mu);
      taken.swap(shard.counters);
    }
    for (const auto& [slot, c] : taken) {
      const VerifiableKey& key = *c.key;
      UsageRow& row = rows[{std::string(key.id()), slot.minute, slot.code}];
      if (row.key_id.empty()) {
        row = UsageRow{
            std::string(key.id()), std::string(key.workspace_id()), slot.minute, slot.code, 0, 0};
      }
      row.count += c.count;
      row.credits += c.credits;
      if (c.last_valid > 0) {
        Timestamp& t = last_used[std::string(key.id())];
        if (c.last_valid > t) t = c.last_valid;
      }
    }
  }
  UsageBatch batch;
  {
    MutexLock lock(&restored_mu_);
    batch = std::move(restored_);
    restored_ = {};
  }
  for (auto& [k, row] : rows) batch.rows.push_back(std::move(row));
  for (auto& [id, at] : last_used) batch.last_used.emplace_back(id, at);
  return batch;
}

void UsageRecorder::Restore(const UsageBatch& batch) {
  MutexLock lock(&restored_mu_);
  // Merged per key, minute and code: a flush that fails every second for
  // an hour holds one row per counter, not one per try.
  std::map<std::tuple<std::string, int64_t, Code>, UsageRow> rows;
  for (const UsageBatch* b : {static_cast<const UsageBatch*>(&restored_), &batch}) {
    for (const UsageRow& r : b->rows) {
      auto [it, inserted] = rows.try_emplace({r.key_id, r.minute, r.code}, r);
      if (!inserted) {
        it->second.count += r.count;
        it->second.credits += r.credits;
      }
    }
  }
  std::map<std::string, Timestamp> last_used;
  for (const UsageBatch* b : {static_cast<const UsageBatch*>(&restored_), &batch}) {
    for (const auto& [id, at] : b->last_used) {
      Timestamp& t = last_used[id];
      if (at > t) t = at;
    }
  }
  UsageBatch merged;
  merged.rows.reserve(rows.size());
  for (auto& [k, r] : rows) merged.rows.push_back(std::move(r));
  if (merged.rows.size() > max_pending_rows_) {
    // The oldest minutes go first: the newest are what an operator looks at.
    std::stable_sort(merged.rows.begin(), merged.rows.end(),
                     [](const UsageRow& a, const UsageRow& b) { return a.minute < b.minute; });
    const size_t drop = merged.rows.size() - max_pending_rows_;
    for (size_t i = 0; i < drop; ++i) dropped_ += static_cast<uint64_t>(merged.rows[i].count);
    dropped_rows_ += drop;
    merged.rows.erase(merged.rows.begin(), merged.rows.begin() + static_cast<ptrdiff_t>(drop));
  }
  // One entry per key: bounded by the keys that were used, as the cache is.
  for (auto& [id, at] : last_used) merged.last_used.emplace_back(id, at);
  restored_ = std::move(merged);
}

UsageStats UsageRecorder::Stats() const {
  MutexLock lock(&restored_mu_);
  return UsageStats{restored_.rows.size(), dropped_, dropped_rows_};
}

}  // namespace keyward
