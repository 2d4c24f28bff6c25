#include "core/usage.h"

#include <map>
#include <tuple>

namespace keyward {

void UsageRecorder::Record(const std::shared_ptr<const VerifiableKey>& key, Code code,
                           Timestamp now) {
  if (!key) return;
  const Slot slot{key.get(), now / kMillisPerMinute, code};
  Shard& shard = shards_[SlotHash{}(slot) % kShards];
  MutexLock lock(&shard.mu);
  Counter& c = shard.counters[slot];
  if (!c.key) c.key = key;
  ++c.count;
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
        row = UsageRow{std::string(key.id()), std::string(key.workspace_id()), slot.minute,
                       slot.code, 0};
      }
      row.count += c.count;
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
  restored_.rows.insert(restored_.rows.end(), batch.rows.begin(), batch.rows.end());
  restored_.last_used.insert(restored_.last_used.end(), batch.last_used.begin(),
                             batch.last_used.end());
}

}  // namespace keyward
