// KeyService's workspaces and plans: what a customer is, what it bought,
// and the limits that follow from both.
// Thread-safe: as KeyService.
#include <nlohmann/json.hpp>

#include "core/key_service.h"
#include "core/policy.h"
#include "core/random.h"
#include "core/rotation_policy.h"

namespace keyward {
namespace {

using nlohmann::json;

constexpr int64_t kMaxMonthlyCredits = 1'000'000'000'000;
constexpr size_t kMaxCostRules = 100;

json RateLimitJson(const std::optional<RateLimit>& r) {
  if (!r) return nullptr;
  return {{"limit", r->limit}, {"period_seconds", r->period_seconds}};
}

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

Status ValidateMaxActiveKeys(const std::optional<int64_t>& m) {
  if (m && (*m < 1 || *m > 100000)) {
    return Status::InvalidRequest("max_active_keys must be between 1 and 100000");
  }
  return Status::Ok();
}

Status ValidateMonthlyCredits(const std::optional<int64_t>& c) {
  if (c && (*c < 0 || *c > kMaxMonthlyCredits)) {
    return Status::InvalidRequest("monthly_credits must be between 0 and 1000000000000");
  }
  return Status::Ok();
}

Status ValidateAnchorDay(const std::optional<int>& d) {
  if (d && (*d < 1 || *d > 31)) {
    return Status::InvalidRequest(
        "billing_anchor_day must be between 1 and 31 (a shorter month starts on its last day)");
  }
  return Status::Ok();
}

json CostRulesJson(const std::vector<CostRule>& rules) {
  json out = json::array();
  for (const auto& r : rules) out.push_back({{"endpoint", r.endpoint}, {"cost", r.cost}});
  return out;
}

json PlanDetails(const Plan& p) {
  return {{"name", p.name},
          {"monthly_credits", OrNull(p.monthly_credits)},
          {"rate_limit", RateLimitJson(p.rate_limit)},
          {"max_active_keys", OrNull(p.max_active_keys)},
          {"cost_rules", CostRulesJson(p.cost_rules)}};
}

}  // namespace

Status ValidateCostRules(const std::vector<CostRule>& rules) {
  if (rules.size() > kMaxCostRules) {
    return Status::InvalidRequest("costs has more than " + std::to_string(kMaxCostRules) +
                                  " rules");
  }
  for (const auto& r : rules) {
    auto p = EndpointPattern::Parse(r.endpoint);
    if (!p.ok()) return Status::InvalidRequest("costs: " + p.status().message());
    if (r.cost < 0 || r.cost > kMaxRequestCost) {
      return Status::InvalidRequest("costs: the cost of \"" + r.endpoint +
                                    "\" must be between 0 and 1000000");
    }
  }
  return Status::Ok();
}

Status ValidatePlan(const Plan& p) {
  KEYWARD_RETURN_IF_ERROR(ValidateName(p.name));
  KEYWARD_RETURN_IF_ERROR(ValidateMonthlyCredits(p.monthly_credits));
  KEYWARD_RETURN_IF_ERROR(ValidateMaxActiveKeys(p.max_active_keys));
  if (p.rate_limit) KEYWARD_RETURN_IF_ERROR(ValidateRateLimit(*p.rate_limit));
  return ValidateCostRules(p.cost_rules);
}

// ---- Plans ----

Result<Plan> KeyService::CreatePlan(NewPlanParams params, const Actor& actor) {
  Plan p;
  p.id = NewId("plan");
  p.name = std::move(params.name);
  p.monthly_credits = params.monthly_credits;
  p.rate_limit = params.rate_limit;
  p.max_active_keys = params.max_active_keys;
  p.cost_rules = std::move(params.cost_rules);
  p.created_at = p.updated_at = options_.clock->Now();
  KEYWARD_RETURN_IF_ERROR(ValidatePlan(p));
  KEYWARD_RETURN_IF_ERROR(
      store_->InsertPlan(p, MakeAudit(actor, "plan.create", p.id, "", PlanDetails(p).dump())));
  NotifyPolicy();
  return p;
}

Result<Plan> KeyService::UpdatePlan(std::string_view id, const PlanUpdate& u, const Actor& actor) {
  auto plan = store_->GetPlan(id);
  if (!plan.ok()) return plan;
  Plan& p = *plan;
  if (p.from_config) {
    return Status::Conflict("plan " + p.id +
                            " is defined in the configuration ([plans]); change it there");
  }
  if (u.name) p.name = *u.name;
  if (u.monthly_credits) p.monthly_credits = *u.monthly_credits;
  if (u.rate_limit) p.rate_limit = *u.rate_limit;
  if (u.max_active_keys) p.max_active_keys = *u.max_active_keys;
  if (u.cost_rules) p.cost_rules = *u.cost_rules;
  p.updated_at = options_.clock->Now();
  KEYWARD_RETURN_IF_ERROR(ValidatePlan(p));
  KEYWARD_RETURN_IF_ERROR(
      store_->UpdatePlan(p, MakeAudit(actor, "plan.update", p.id, "", PlanDetails(p).dump())));
  NotifyPolicy();
  return plan;
}

Status KeyService::ApplyConfigPlans(const std::vector<Plan>& plans) {
  const Actor config{"config", ""};
  bool changed = false;
  for (Plan p : plans) {
    p.from_config = true;
    KEYWARD_RETURN_IF_ERROR(ValidatePlan(p));
    auto stored = store_->GetPlan(p.id);
    const Timestamp now = options_.clock->Now();
    if (!stored.ok()) {
      if (stored.status().code() != Code::kNotFound) return stored.status();
      p.created_at = p.updated_at = now;
      Status s =
          store_->InsertPlan(p, MakeAudit(config, "plan.create", p.id, "", PlanDetails(p).dump()));
      // Another node starting with the same configuration made it first.
      if (!s.ok() && s.code() != Code::kConflict) return s;
      changed = true;
      continue;
    }
    if (stored->name == p.name && stored->monthly_credits == p.monthly_credits &&
        stored->rate_limit == p.rate_limit && stored->max_active_keys == p.max_active_keys &&
        stored->cost_rules == p.cost_rules && stored->from_config) {
      continue;
    }
    p.created_at = stored->created_at;
    p.updated_at = now;
    KEYWARD_RETURN_IF_ERROR(
        store_->UpdatePlan(p, MakeAudit(config, "plan.update", p.id, "", PlanDetails(p).dump())));
    changed = true;
  }
  if (changed) NotifyPolicy();
  return Status::Ok();
}

// ---- Workspaces ----

Result<int64_t> KeyService::MaxActiveKeys(const Workspace& ws) {
  if (ws.max_active_keys) return *ws.max_active_keys;
  if (!ws.plan_id.empty()) {
    auto plan = store_->GetPlan(ws.plan_id);
    if (plan.ok() && plan->max_active_keys) return *plan->max_active_keys;
    if (!plan.ok() && plan.status().code() != Code::kNotFound) return plan.status();
  }
  return options_.default_max_active;
}

Result<std::optional<RateLimit>> KeyService::DefaultRateLimit(const Workspace& ws) {
  if (ws.rate_limit) return ws.rate_limit;
  if (!ws.plan_id.empty()) {
    auto plan = store_->GetPlan(ws.plan_id);
    if (plan.ok() && plan->rate_limit) return plan->rate_limit;
    if (!plan.ok() && plan.status().code() != Code::kNotFound) return plan.status();
  }
  return options_.default_rate_limit;
}

std::optional<int64_t> KeyService::RotateAfterDays(const Workspace& ws) const {
  return EffectiveRotateAfterDays(ws, options_.rotate_after_days);
}

Result<std::optional<int64_t>> KeyService::RotateAfterDays(std::string_view workspace_id) {
  auto ws = store_->GetWorkspace(workspace_id);
  if (!ws.ok()) return ws.status();
  return RotateAfterDays(*ws);
}

Result<Workspace> KeyService::CreateWorkspace(NewWorkspaceParams params, const Actor& actor) {
  KEYWARD_RETURN_IF_ERROR(ValidateName(params.name));
  KEYWARD_RETURN_IF_ERROR(ValidateMaxActiveKeys(params.max_active_keys));
  KEYWARD_RETURN_IF_ERROR(ValidateMonthlyCredits(params.monthly_credits));
  KEYWARD_RETURN_IF_ERROR(ValidateAnchorDay(params.billing_anchor_day));
  KEYWARD_RETURN_IF_ERROR(ValidatePolicyDays(params.rotate_after_days, "rotate_after_days"));
  if (params.rate_limit) KEYWARD_RETURN_IF_ERROR(ValidateRateLimit(*params.rate_limit));
  Workspace ws;
  ws.id = NewId("ws");
  ws.name = std::move(params.name);
  ws.max_active_keys = params.max_active_keys;
  ws.plan_id = params.plan_id.value_or(options_.default_plan_id);
  ws.monthly_credits = params.monthly_credits;
  ws.rate_limit = params.rate_limit;
  ws.billing_anchor_day = params.billing_anchor_day;
  ws.rotate_after_days = params.rotate_after_days;
  ws.created_at = options_.clock->Now();
  json details = {{"name", ws.name}};
  if (ws.max_active_keys) details["max_active_keys"] = *ws.max_active_keys;
  if (!ws.plan_id.empty()) details["plan_id"] = ws.plan_id;
  if (ws.monthly_credits) details["monthly_credits"] = *ws.monthly_credits;
  if (ws.rate_limit) details["rate_limit"] = RateLimitJson(ws.rate_limit);
  if (ws.billing_anchor_day) details["billing_anchor_day"] = *ws.billing_anchor_day;
  if (ws.rotate_after_days) details["rotate_after_days"] = *ws.rotate_after_days;
  KEYWARD_RETURN_IF_ERROR(store_->CreateWorkspace(
      ws, MakeAudit(actor, "workspace.create", ws.id, ws.id, details.dump())));
  return ws;
}

Result<Workspace> KeyService::UpdateWorkspace(std::string_view id, const WorkspaceUpdate& u,
                                              const Actor& actor) {
  auto ws = store_->GetWorkspace(id);
  if (!ws.ok()) return ws;
  json details = json::object();
  if (u.name) {
    KEYWARD_RETURN_IF_ERROR(ValidateName(*u.name));
    ws->name = *u.name;
    details["name"] = ws->name;
  }
  if (u.max_active_keys) {
    KEYWARD_RETURN_IF_ERROR(ValidateMaxActiveKeys(*u.max_active_keys));
    ws->max_active_keys = *u.max_active_keys;
    details["max_active_keys"] = OrNull(ws->max_active_keys);
  }
  if (u.plan_id) {
    ws->plan_id = *u.plan_id;
    details["plan_id"] = ws->plan_id.empty() ? json(nullptr) : json(ws->plan_id);
  }
  if (u.monthly_credits) {
    KEYWARD_RETURN_IF_ERROR(ValidateMonthlyCredits(*u.monthly_credits));
    ws->monthly_credits = *u.monthly_credits;
    details["monthly_credits"] = OrNull(ws->monthly_credits);
  }
  if (u.rate_limit) {
    if (*u.rate_limit) KEYWARD_RETURN_IF_ERROR(ValidateRateLimit(**u.rate_limit));
    ws->rate_limit = *u.rate_limit;
    details["rate_limit"] = RateLimitJson(ws->rate_limit);
  }
  if (u.billing_anchor_day) {
    KEYWARD_RETURN_IF_ERROR(ValidateAnchorDay(*u.billing_anchor_day));
    ws->billing_anchor_day = *u.billing_anchor_day;
    details["billing_anchor_day"] = OrNull(ws->billing_anchor_day);
  }
  if (u.rotate_after_days) {
    KEYWARD_RETURN_IF_ERROR(ValidatePolicyDays(*u.rotate_after_days, "rotate_after_days"));
    ws->rotate_after_days = *u.rotate_after_days;
    details["rotate_after_days"] = OrNull(ws->rotate_after_days);
  }
  KEYWARD_RETURN_IF_ERROR(store_->UpdateWorkspace(
      *ws, MakeAudit(actor, "workspace.update", ws->id, ws->id, details.dump())));
  NotifyPolicy();
  return ws;
}

}  // namespace keyward
