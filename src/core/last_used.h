// LastUsedTracker: when each key was last used, gathered in memory on the
// verification path and drained in batches to storage (at most once a
// second and at a graceful stop), so that no request writes to storage.
// Thread-safe: sharded; recording takes one shard's mutex briefly.
#ifndef KEYWARD_CORE_LAST_USED_H_
#define KEYWARD_CORE_LAST_USED_H_

#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace keyward {

class LastUsedTracker {
 public:
  void Record(std::string_view key_id, Timestamp at);
  // Everything recorded since the last drain, latest time per key.
  std::vector<std::pair<std::string, Timestamp>> Drain();

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Timestamp> latest;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 32;
  std::array<Shard, kShards> shards_;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_LAST_USED_H_
