#include "core/last_used.h"

#include <functional>

namespace keyward {

void LastUsedTracker::Record(std::string_view key_id, Timestamp at) {
  Shard& s = shards_[std::hash<std::string_view>{}(key_id) % kShards];
  std::lock_guard lock(s.mu);
  auto [it, inserted] = s.latest.try_emplace(std::string(key_id), at);
  if (!inserted && it->second < at) it->second = at;
}

std::vector<std::pair<std::string, Timestamp>> LastUsedTracker::Drain() {
  std::vector<std::pair<std::string, Timestamp>> out;
  for (auto& s : shards_) {
    std::unordered_map<std::string, Timestamp> taken;
    {
      std::lock_guard lock(s.mu);
      taken.swap(s.latest);
    }
    for (auto& kv : taken) out.emplace_back(kv.first, kv.second);
  }
  return out;
}

}  // namespace keyward
