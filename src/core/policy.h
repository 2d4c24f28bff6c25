// A workspace's policy as verification needs it: its rate limit, monthly
// credits and billing anchor (its own value, else its plan's) and its
// plan's cost rules, compiled once. PolicyCache keeps them in memory and
// drops them all whenever a workspace or plan changes (here, or on another
// node through the change log), so a change of plan takes effect on the
// next request.
//
// The verifier borrows the policy on every request (Borrow): each thread
// keeps the policies it used last in a small table of its own, tagged with
// the cache's generation, so a request takes no lock, makes no string and
// touches no reference count that other threads write; Clear moves the
// generation on, and the next request of every thread asks the shared
// cache again.
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
  // The same policy, borrowed for the request in progress: valid on this
  // thread until its next Borrow. By default Policy's answer, held in a
  // reference of the thread's own.
  virtual Result<const WorkspacePolicy*> Borrow(std::string_view workspace_id);
};

class PolicyCache final : public PolicyResolver {
 public:
  // capacity: most workspaces held.
  PolicyCache(KeyStore* store, size_t capacity);
  Result<std::shared_ptr<const WorkspacePolicy>> Policy(std::string_view workspace_id) override;
  // From the calling thread's own table when it holds the workspace's
  // policy of the current generation, else as Policy.
  Result<const WorkspacePolicy*> Borrow(std::string_view workspace_id) override;
  // A workspace or plan changed: every cached policy goes.
  void Clear();

 private:
  // A thread's recent policies (of any PolicyCache: each entry names its
  // cache), direct-mapped by the workspace id's hash.
  struct ThreadEntry {
    uint64_t cache = 0;  // id_ of the cache it came from; 0: empty
    uint64_t generation = 0;
    std::string workspace_id;
    std::shared_ptr<const WorkspacePolicy> policy;
  };
  static constexpr size_t kThreadEntries = 64;
  const uint64_t id_;  // unique among all caches ever made
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
