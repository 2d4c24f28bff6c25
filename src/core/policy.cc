#include "core/policy.h"

#include <algorithm>

#include "core/request_path.h"

namespace keyward {

int64_t WorkspacePolicy::CostOf(std::string_view method, std::string_view path) const {
  if (cost_rules.empty()) return 1;
  std::string_view canonical;
  if (CheckCanonicalPath(path, &canonical) != PathProblem::kNone) return highest_rule_cost;
  std::vector<std::string_view> segments;
  SplitPathSegments(canonical, &segments);
  int64_t cost = -1;
  for (const auto& rule : cost_rules) {
    if (rule.cost > cost && rule.endpoint.Matches(method, segments)) cost = rule.cost;
  }
  return cost < 0 ? 1 : cost;
}

std::shared_ptr<const WorkspacePolicy> CompilePolicy(const Workspace& ws, const Plan* plan) {
  auto p = std::make_shared<WorkspacePolicy>();
  p->workspace_id = ws.id;
  p->plan_id = ws.plan_id;
  p->billing_anchor_day = ws.billing_anchor_day;
  p->monthly_credits = ws.monthly_credits;
  p->rate_limit = ws.rate_limit;
  p->max_active_keys = ws.max_active_keys;
  if (plan != nullptr) {
    if (!p->monthly_credits) p->monthly_credits = plan->monthly_credits;
    if (!p->rate_limit) p->rate_limit = plan->rate_limit;
    if (!p->max_active_keys) p->max_active_keys = plan->max_active_keys;
    int64_t highest = 0;
    for (const auto& rule : plan->cost_rules) {
      auto pattern = EndpointPattern::Parse(rule.endpoint);
      if (!pattern.ok() || rule.cost < 0) continue;
      p->cost_rules.push_back({std::move(*pattern), std::min(rule.cost, kMaxRequestCost)});
      highest = std::max(highest, p->cost_rules.back().cost);
    }
    p->highest_rule_cost = std::max<int64_t>(highest, 1);
  }
  return p;
}

Result<const WorkspacePolicy*> PolicyResolver::Borrow(std::string_view workspace_id) {
  thread_local std::shared_ptr<const WorkspacePolicy> held;
  auto found = Policy(workspace_id);
  if (!found.ok()) return found.status();
  held = std::move(*found);
  return held.get();
}

namespace {
std::atomic<uint64_t> next_policy_cache_id{1};
}  // namespace

PolicyCache::PolicyCache(KeyStore* store, size_t capacity)
    : id_(next_policy_cache_id.fetch_add(1, std::memory_order_relaxed)),
      store_(store),
      per_shard_(std::max<size_t>(capacity / kShards, 1)) {}

Result<const WorkspacePolicy*> PolicyCache::Borrow(std::string_view workspace_id) {
  thread_local std::array<ThreadEntry, kThreadEntries> mine;
  // Read before the shared cache is asked: a Clear after this point makes
  // the entry stale at once, whatever the answer below.
  const uint64_t generation = epoch_.load(std::memory_order_acquire);
  ThreadEntry& e = mine[std::hash<std::string_view>{}(workspace_id) % kThreadEntries];
  if (e.cache == id_ && e.generation == generation && e.workspace_id == workspace_id) {
    return e.policy.get();
  }
  auto found = Policy(workspace_id);
  if (!found.ok()) return found.status();
  if (*found == nullptr) return nullptr;  // no such workspace: asked again next time
  e.cache = id_;
  e.generation = generation;
  e.workspace_id.assign(workspace_id);
  e.policy = std::move(*found);
  return e.policy.get();
}

Result<std::shared_ptr<const WorkspacePolicy>> PolicyCache::Policy(std::string_view workspace_id) {
  Shard& shard = ShardOf(workspace_id);
  uint64_t epoch;
  {
    MutexLock lock(&shard.mu);
    if (auto it = shard.policies.find(std::string(workspace_id)); it != shard.policies.end()) {
      return it->second;
    }
    epoch = epoch_.load(std::memory_order_acquire);
  }
  auto ws = store_->GetWorkspaceToVerify(workspace_id);
  if (!ws.ok()) {
    if (ws.status().code() == Code::kNotFound) return std::shared_ptr<const WorkspacePolicy>();
    return ws.status();
  }
  std::optional<Plan> plan;
  if (!ws->plan_id.empty()) {
    auto found = store_->GetPlanToVerify(ws->plan_id);
    if (found.ok()) {
      plan = std::move(*found);
    } else if (found.status().code() != Code::kNotFound) {
      return found.status();
    }
  }
  std::shared_ptr<const WorkspacePolicy> policy = CompilePolicy(*ws, plan ? &*plan : nullptr);
  MutexLock lock(&shard.mu);
  if (epoch_.load(std::memory_order_acquire) != epoch) return policy;  // changed meanwhile
  if (shard.policies.size() >= per_shard_) shard.policies.erase(shard.policies.begin());
  shard.policies.emplace(std::string(workspace_id), policy);
  return policy;
}

void PolicyCache::Clear() {
  // The epoch moves first, under every shard's lock in turn, so a reader
  // that noted the old epoch cannot store after its shard was cleared.
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    if (&shard == &shards_[0]) epoch_.fetch_add(1, std::memory_order_acq_rel);
    shard.policies.clear();
  }
  // And again once every shard is empty: a thread that read the first new
  // epoch may have been answered from a shard not yet cleared, and kept
  // that policy in its own table (Borrow) under that epoch. This one makes
  // such an entry stale; a thread that reads it finds every shard cleared.
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace keyward
