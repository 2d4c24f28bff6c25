// Workspaces: create, list, read and change the operator's customers.
// Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include "core/key_service.h"
#include "core/policy.h"
#include "core/rotation_policy.h"
#include "server/api.h"
#include "server/auth.h"

namespace keyward {

Result<Json> WorkspaceObject(const RouteContext& ctx, const Workspace& ws,
                             std::string_view only_environment) {
  // In force: its own value, else its plan's, else the deployment's, by the
  // rule verification uses (CompilePolicy), from one read of its plan.
  std::optional<Plan> plan;
  if (!ws.plan_id.empty()) {
    auto found = ctx.service->GetPlan(ws.plan_id);
    if (!found.ok() && found.status().code() != Code::kNotFound) return found.status();
    if (found.ok()) plan = std::move(*found);
  }
  const auto policy = CompilePolicy(ws, plan ? &*plan : nullptr);
  auto active = ctx.service->CountActiveKeys(ws.id);
  Json j = WorkspaceJson(ws, policy->max_active_keys.value_or(ctx.service->default_max_active()),
                         active.ok() ? *active : 0);
  std::optional<RateLimit> rate = policy->rate_limit;
  if (!rate) rate = ctx.verifier->options().default_rate_limit;
  const std::optional<int64_t>& credits = policy->monthly_credits;
  j["plan_id"] = ws.plan_id.empty() ? Json(nullptr) : Json(ws.plan_id);
  j["monthly_credits"] = credits ? Json(*credits) : Json(nullptr);
  j["monthly_credits_override"] = ws.monthly_credits ? Json(*ws.monthly_credits) : Json(nullptr);
  j["rate_limit"] = RateLimitJson(rate);
  j["rate_limit_override"] = RateLimitJson(ws.rate_limit);
  j["billing_anchor_day"] = ws.billing_anchor_day ? Json(*ws.billing_anchor_day) : Json(nullptr);
  const std::optional<int64_t> rotate = ctx.service->RotateAfterDays(ws);
  j["rotate_after_days"] = rotate ? Json(*rotate) : Json(nullptr);
  j["rotate_after_days_override"] =
      ws.rotate_after_days ? Json(*ws.rotate_after_days) : Json(nullptr);
  auto left = WorkspaceCreditsJson(ctx, ws, only_environment);
  if (!left.ok()) return left.status();
  j["credits"] = std::move(*left);
  return j;
}

namespace {

void CreateWorkspace(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  NewWorkspaceParams p;
  std::optional<std::optional<RateLimit>> rate;
  std::optional<int64_t> anchor;
  std::optional<std::string> plan;
  if (!call.Check(f.OnlyFields({"name", "max_active_keys", "plan_id", "monthly_credits",
                                "rate_limit", "billing_anchor_day", "rotate_after_days"})) ||
      !call.Check(f.RequiredString("name", &p.name)) ||
      !call.Check(f.Int("max_active_keys", 1, 100000, &p.max_active_keys)) ||
      !call.Check(f.NullablePlanId("plan_id", &plan)) ||
      !call.Check(f.Int("monthly_credits", 0, 1'000'000'000'000, &p.monthly_credits)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &rate)) ||
      !call.Check(f.Int("billing_anchor_day", 1, 31, &anchor)) ||
      !call.Check(f.Int("rotate_after_days", 1, kMaxPolicyDays, &p.rotate_after_days))) {
    return;
  }
  p.plan_id = plan;
  if (rate) p.rate_limit = *rate;
  if (anchor) p.billing_anchor_day = static_cast<int>(*anchor);
  auto ws = ctx.service->CreateWorkspace(std::move(p), call.actor());
  if (!ws.ok()) return call.Fail(ws.status());
  auto j = WorkspaceObject(ctx, *ws);
  if (!j.ok()) return call.Fail(j.status());
  call.SendJson(201, *j);
}

void ListWorkspaces(Call& call, const RouteContext& ctx) {
  QueryParams q;
  PageRequest page;
  if (!call.Query({"q", "cursor", "limit"}, &q) || !call.Page(q, &page)) return;
  WorkspaceFilter filter;
  for (const auto& [k, v] : q) {
    if (k == "q") filter.query = v;
  }
  if (filter.query.size() > 200) return call.Error(Code::kInvalidRequest, "q is longer than 200");
  auto list = ctx.service->ListWorkspaces(filter, page);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& ws : list->items) {
    auto j = WorkspaceObject(ctx, ws);
    if (!j.ok()) return call.Fail(j.status());
    data.push_back(std::move(*j));
  }
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

void GetWorkspace(Call& call, const RouteContext& ctx) {
  // A portal session sees its own workspace only.
  if (!MayReach(call.who, call.params[0], "")) {
    return call.Error(Code::kNotFound, "no workspace " + std::string(call.params[0]));
  }
  auto ws = ctx.service->GetWorkspace(call.params[0]);
  if (!ws.ok()) return call.Fail(ws.status());
  auto j = WorkspaceObject(ctx, *ws, call.who.root ? "" : call.who.environment);
  if (!j.ok()) return call.Fail(j.status());
  call.SendJson(200, *j);
}

void UpdateWorkspace(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  WorkspaceUpdate u;
  std::optional<std::optional<int64_t>> anchor;
  if (!call.Check(f.OnlyFields({"name", "max_active_keys", "plan_id", "monthly_credits",
                                "rate_limit", "billing_anchor_day", "rotate_after_days"})) ||
      !call.Check(f.String("name", &u.name)) ||
      !call.Check(f.NullableInt("max_active_keys", 1, 100000, &u.max_active_keys)) ||
      !call.Check(f.NullablePlanId("plan_id", &u.plan_id)) ||
      !call.Check(f.NullableInt("monthly_credits", 0, 1'000'000'000'000, &u.monthly_credits)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &u.rate_limit)) ||
      !call.Check(f.NullableInt("billing_anchor_day", 1, 31, &anchor)) ||
      !call.Check(f.NullableInt("rotate_after_days", 1, kMaxPolicyDays, &u.rotate_after_days))) {
    return;
  }
  if (anchor) {
    u.billing_anchor_day =
        *anchor ? std::optional<int>(static_cast<int>(**anchor)) : std::optional<int>();
  }
  auto ws = ctx.service->UpdateWorkspace(call.params[0], u, call.actor());
  if (!ws.ok()) return call.Fail(ws.status());
  auto j = WorkspaceObject(ctx, *ws);
  if (!j.ok()) return call.Fail(j.status());
  call.SendJson(200, *j);
}

}  // namespace

void RegisterWorkspaceRoutes(RouteTable& table) {
  table.Add({"POST", "/v1/workspaces", "createWorkspace", Access::kRoot, CreateWorkspace});
  table.Add({"GET", "/v1/workspaces", "listWorkspaces", Access::kRoot, ListWorkspaces});
  // A portal session reads its own workspace (its key limit); managing keys
  // do not.
  table.Add(
      {"GET", "/v1/workspaces/{id}", "getWorkspace", Access::kRoot, GetWorkspace, "keys:read"});
  table.Add({"PATCH", "/v1/workspaces/{id}", "updateWorkspace", Access::kRoot, UpdateWorkspace});
}

}  // namespace keyward
