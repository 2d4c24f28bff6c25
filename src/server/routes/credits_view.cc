// What credit balances have left, as the management API shows them: a key's
// own credits and a workspace's allowance per environment, read through
// this node's credit ledger (exact on one node).
// Thread-safe: functions of thread-safe services.
#include "core/billing_period.h"
#include "core/key_service.h"
#include "core/time_format.h"
#include "server/api.h"
#include "server/routes/routes.h"

namespace keyward {

Result<std::optional<CreditState>> KeyCreditsLeft(const RouteContext& ctx, const ApiKey& key) {
  if (!key.credits || ctx.options->credits == nullptr) return std::optional<CreditState>();
  const KeyBalance b = KeyBalanceAt(*key.credits, ctx.service->clock().Now());
  const std::string balance = KeyBalanceName(key.lineage_id.empty() ? key.id : key.lineage_id);
  CreditCharge charge;
  charge.balance = balance;
  charge.period_start = b.period.start;
  charge.limit = b.limit;
  charge.reset = b.period.end;
  auto state = ctx.options->credits->Peek(charge);
  if (!state.ok()) return state.status();
  return std::optional<CreditState>(*state);
}

Result<Json> WorkspaceCreditsJson(const RouteContext& ctx, const Workspace& ws,
                                  std::string_view only_environment) {
  if (ctx.options->policies == nullptr || ctx.options->credits == nullptr) return Json(nullptr);
  auto policy = ctx.options->policies->Policy(ws.id);
  if (!policy.ok()) return policy.status();
  if (*policy == nullptr || !(*policy)->monthly_credits) return Json(nullptr);
  const Period period = MonthlyPeriod(ctx.service->clock().Now(), (*policy)->billing_anchor_day);
  Json out = {{"period_start", FormatRfc3339(period.start)},
              {"period_end", FormatRfc3339(period.end)},
              {"environments", Json::object()}};
  for (const auto& env : ctx.service->format().environments()) {
    if (!only_environment.empty() && env != only_environment) continue;
    const std::string balance = WorkspaceBalance(ws.id, env);
    CreditCharge charge;
    charge.balance = balance;
    charge.period_start = period.start;
    charge.limit = *(*policy)->monthly_credits;
    charge.reset = period.end;
    auto state = ctx.options->credits->Peek(charge);
    if (!state.ok()) return state.status();
    Json e = CreditStateJson(*state);
    e["spent"] = state->limit - state->remaining;
    out["environments"][env] = std::move(e);
  }
  return out;
}

}  // namespace keyward
