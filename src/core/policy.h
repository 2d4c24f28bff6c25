// A workspace's policy as verification needs it: its rate limit, monthly
// credits and billing anchor (its own value, else its plan's) and its
// plan's cost rules, compiled once. PolicyCache keeps them in memory and
// drops them all whenever a workspace or plan changes (here, or on another
// node through the change log), so a change of plan takes effect on the
// next request.
// Thread-safe: policies are immutable; the cache is.
#ifndef KEYWARD_CORE_POLICY_H_
#define KEYWARD_CORE_POLICY_H_

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/endpoint_pattern.h"
#include "core/key_store.h"
#include "core/model.h"
#include "core/mutex.h"
#include "core/status.h"

namespace keyward {

inline constexpr int64_t kMaxRequestCost = 1'000'000;

struct WorkspacePolicy {
  std::string workspace_id;
  std::string plan_id;
  std::optional<int64_t> monthly_credits;  // unset: no allowance
  std::optional<RateLimit> rate_limit;     // unset: the deployment's
  std::optional<int64_t> max_active_keys;  // unset: the deployment's
  std::optional<int> billing_anchor_day;
  struct Rule {
    EndpointPattern endpoint;
    int64_t cost;
  };
  std::vector<Rule> cost_rules;
  int64_t highest_rule_cost = 1;

  // What a request costs by the plan's rules: the highest cost of the rules
  // that match it, else 1. A path that is not canonical matches no rule
  // reliably, so it costs the highest of all rules: a request never gets
  // cheaper by being spelled oddly.
  int64_t CostOf(std::string_view method, std::string_view path) const;
};

// The policy of ws on plan (null: none). Cost rules that fail to parse
// (stored by a foreign writer) are dropped.
std::shared_ptr<const WorkspacePolicy> CompilePolicy(const Workspace& ws, const Plan* plan);

class PolicyResolver {
 public:
  virtual ~PolicyResolver() = default;
  // nullptr when there is no such workspace; a Status when storage failed.
  virtual Result<std::shared_ptr<const WorkspacePolicy>> Policy(std::string_view workspace_id) = 0;
};

class PolicyCache final : public PolicyResolver {
 public:
  // capacity: most workspaces held.
  PolicyCache(KeyStore* store, size_t capacity);
  Result<std::shared_ptr<const WorkspacePolicy>> Policy(std::string_view workspace_id) override;
  // A workspace or plan changed: every cached policy goes.
  void Clear();

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    Mutex mu;
    std::unordered_map<std::string, std::shared_ptr<const WorkspacePolicy>> policies GUARDED_BY(mu);
  };
  Shard& ShardOf(std::string_view id) {
    return shards_[std::hash<std::string_view>{}(id) % kShards];
  }
  KeyStore* store_;
  size_t per_shard_;
  // Bumped by Clear; a policy read before a change is never kept after it.
  std::atomic<uint64_t> epoch_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_POLICY_H_
