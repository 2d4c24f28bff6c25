// Plans: what a workspace buys (a monthly credit allowance, a rate limit
// for its keys, a key limit, and what requests cost). Root keys only.
// Thread-safe: handlers run on any serving thread at once.
#include "core/key_service.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/routes/routes.h"

namespace keyward {
namespace {

void CreatePlan(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  NewPlanParams p;
  std::optional<int64_t> credits, max_active;
  std::optional<std::optional<RateLimit>> rate;
  std::optional<std::vector<CostRule>> costs;
  if (!call.Check(
          f.OnlyFields({"name", "monthly_credits", "rate_limit", "max_active_keys", "costs"})) ||
      !call.Check(f.RequiredString("name", &p.name)) ||
      !call.Check(f.Int("monthly_credits", 0, 1'000'000'000'000, &credits)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &rate)) ||
      !call.Check(f.Int("max_active_keys", 1, 100000, &max_active)) ||
      !call.Check(f.CostRules("costs", &costs))) {
    return;
  }
  p.monthly_credits = credits;
  p.max_active_keys = max_active;
  if (rate) p.rate_limit = *rate;
  if (costs) p.cost_rules = std::move(*costs);
  auto plan = ctx.service->CreatePlan(std::move(p), call.actor());
  if (!plan.ok()) return call.Fail(plan.status());
  call.SendJson(201, PlanJson(*plan));
}

void ListPlans(Call& call, const RouteContext& ctx) {
  QueryParams q;
  if (!call.Query({}, &q)) return;
  auto plans = ctx.service->ListPlans();
  if (!plans.ok()) return call.Fail(plans.status());
  Json data = Json::array();
  for (const auto& p : *plans) data.push_back(PlanJson(p));
  call.SendJson(200, ListBody(std::move(data), ""));
}

void GetPlan(Call& call, const RouteContext& ctx) {
  auto plan = ctx.service->GetPlan(call.params[0]);
  if (!plan.ok()) return call.Fail(plan.status());
  call.SendJson(200, PlanJson(*plan));
}

void UpdatePlan(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  PlanUpdate u;
  if (!call.Check(
          f.OnlyFields({"name", "monthly_credits", "rate_limit", "max_active_keys", "costs"})) ||
      !call.Check(f.String("name", &u.name)) ||
      !call.Check(f.NullableInt("monthly_credits", 0, 1'000'000'000'000, &u.monthly_credits)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &u.rate_limit)) ||
      !call.Check(f.NullableInt("max_active_keys", 1, 100000, &u.max_active_keys)) ||
      !call.Check(f.CostRules("costs", &u.cost_rules))) {
    return;
  }
  auto plan = ctx.service->UpdatePlan(call.params[0], u, call.actor());
  if (!plan.ok()) return call.Fail(plan.status());
  call.SendJson(200, PlanJson(*plan));
}

}  // namespace

void RegisterPlanRoutes(RouteTable& table) {
  table.Add({"POST", "/v1/plans", "createPlan", Access::kRoot, CreatePlan});
  table.Add({"GET", "/v1/plans", "listPlans", Access::kRoot, ListPlans});
  table.Add({"GET", "/v1/plans/{id}", "getPlan", Access::kRoot, GetPlan});
  table.Add({"PATCH", "/v1/plans/{id}", "updatePlan", Access::kRoot, UpdatePlan});
}

}  // namespace keyward
