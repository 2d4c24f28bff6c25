// Usage: verifications per minute, hour or day, for a workspace or one key.
// Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include "core/billing_period.h"
#include "core/key_service.h"
#include "core/time_format.h"
#include "server/api.h"
#include "server/auth.h"

namespace keyward {
namespace {

void Usage(Call& call, const RouteContext& ctx) {
  QueryParams q;
  if (!call.Query({"workspace_id", "key_id", "environment", "from", "to", "granularity"}, &q)) {
    return;
  }
  std::string workspace_id, key_id, environment, from_text, to_text, granularity = "hour";
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") workspace_id = v;
    if (k == "key_id") key_id = v;
    if (k == "environment") environment = v;
    if (k == "from") from_text = v;
    if (k == "to") to_text = v;
    if (k == "granularity") granularity = v;
  }
  int64_t bucket_minutes;
  int64_t default_span_minutes;
  if (granularity == "minute") {
    bucket_minutes = 1;
    default_span_minutes = 60;
  } else if (granularity == "hour") {
    bucket_minutes = 60;
    default_span_minutes = 24 * 60;
  } else if (granularity == "day") {
    bucket_minutes = 24 * 60;
    default_span_minutes = 30 * 24 * 60;
  } else if (granularity == "month") {
    // Read by day, folded into calendar months (UTC) below.
    bucket_minutes = 24 * 60;
    default_span_minutes = 365 * 24 * 60;
  } else {
    return call.Error(Code::kInvalidRequest, "granularity must be minute, hour, day or month");
  }
  const bool by_month = granularity == "month";
  if (!environment.empty() && !ctx.service->format().HasEnvironment(environment)) {
    return call.Error(Code::kInvalidRequest, "no environment \"" + environment + "\"");
  }
  if (!key_id.empty()) {
    auto key = LoadVisibleKey(call, ctx, key_id);
    if (!key) return;
    if (!workspace_id.empty() && workspace_id != key->workspace_id) {
      return call.Error(Code::kNotFound, "no API key " + key_id + " in workspace " + workspace_id);
    }
    workspace_id = key->workspace_id;
  }
  if (!call.who.root) {
    if (!MayReach(call.who, workspace_id, "")) {
      return call.Error(Code::kNotFound, "no workspace " + workspace_id);
    }
    workspace_id = call.who.workspace_id;
  }
  if (workspace_id.empty())
    return call.Error(Code::kInvalidRequest, "workspace_id or key_id is required");
  // A managing key (or a portal session of one environment) sees its own
  // environment's usage only.
  if (!call.who.root && !call.who.environment.empty()) {
    if (!environment.empty() && environment != call.who.environment) {
      return call.Error(Code::kNotFound, "no such environment for this caller");
    }
    environment = call.who.environment;
  }
  auto ws = ctx.service->GetWorkspace(workspace_id);
  if (!ws.ok()) return call.Fail(ws.status());
  // Buckets are whole minutes, hours or days (UTC); "to" rounds up to a bucket edge.
  const int64_t now_minute = ctx.service->clock().Now() / kMillisPerMinute;
  int64_t to_minute = now_minute + 1;
  if (!to_text.empty()) {
    auto t = ParseRfc3339(to_text);
    if (!t)
      return call.Error(Code::kInvalidRequest,
                        "to must be an RFC 3339 time like 2026-01-31T00:00:00Z");
    to_minute = (*t + kMillisPerMinute - 1) / kMillisPerMinute;
  }
  to_minute = (to_minute + bucket_minutes - 1) / bucket_minutes * bucket_minutes;
  if (by_month)
    to_minute = MonthlyPeriod(to_minute * kMillisPerMinute - 1, {}).end / kMillisPerMinute;
  int64_t from_minute = to_minute - default_span_minutes;
  if (!from_text.empty()) {
    auto f = ParseRfc3339(from_text);
    if (!f)
      return call.Error(Code::kInvalidRequest,
                        "from must be an RFC 3339 time like 2026-01-01T00:00:00Z");
    from_minute = *f / kMillisPerMinute;
  }
  from_minute = from_minute / bucket_minutes * bucket_minutes;
  if (by_month)
    from_minute = MonthlyPeriod(from_minute * kMillisPerMinute, {}).start / kMillisPerMinute;
  if (from_minute >= to_minute) return call.Error(Code::kInvalidRequest, "from must be before to");
  constexpr int64_t kMaxBuckets = 1500;
  if ((to_minute - from_minute) / bucket_minutes > kMaxBuckets) {
    return call.Error(Code::kInvalidRequest,
                      by_month ? "at most " + std::to_string(kMaxBuckets) +
                                     " days at once (about 49 months); narrow from/to"
                               : "at most " + std::to_string(kMaxBuckets) + " " + granularity +
                                     " buckets at once; narrow from/to or pick a coarser "
                                     "granularity");
  }
  UsageQuery uq{workspace_id, key_id, environment, from_minute, to_minute, bucket_minutes};
  auto points = ctx.service->QueryUsage(uq);
  if (!points.ok()) return call.Fail(points.status());
  // A bucket's start: the query's own, or its calendar month's.
  auto bucket_of = [&](int64_t minute) {
    return by_month ? MonthlyPeriod(minute * kMillisPerMinute, {}).start / kMillisPerMinute
                    : minute;
  };
  Json data = Json::array();
  int64_t total_valid = 0, total = 0, total_credits = 0;
  for (size_t i = 0; i < points->size();) {
    const int64_t bucket = bucket_of((*points)[i].bucket_minute);
    Json by_code = Json::object();
    int64_t valid = 0, all = 0, credits = 0;
    for (; i < points->size() && bucket_of((*points)[i].bucket_minute) == bucket; ++i) {
      const UsagePoint& p = (*points)[i];
      const std::string code(CodeName(p.code));
      by_code[code] = by_code.value(code, int64_t{0}) + p.count;
      all += p.count;
      credits += p.credits;
      if (p.code == Code::kValid) valid += p.count;
    }
    total_valid += valid;
    total += all;
    total_credits += credits;
    data.push_back({{"start", FormatRfc3339(bucket * kMillisPerMinute)},
                    {"valid", valid},
                    {"refused", all - valid},
                    {"total", all},
                    {"credits", credits},
                    {"by_code", std::move(by_code)}});
  }
  // The allowance in its current period, for the workspace (or the key's
  // environment).
  std::string credit_env = environment;
  if (!key_id.empty() && credit_env.empty()) {
    if (auto key = ctx.service->GetKey(key_id); key.ok()) credit_env = key->environment;
  }
  auto allowance = WorkspaceCreditsJson(ctx, *ws, credit_env);
  if (!allowance.ok()) return call.Fail(allowance.status());
  call.SendJson(200, {{"workspace_id", workspace_id},
                      {"key_id", key_id.empty() ? Json(nullptr) : Json(key_id)},
                      {"environment", environment.empty() ? Json(nullptr) : Json(environment)},
                      {"granularity", granularity},
                      {"from", FormatRfc3339(from_minute * kMillisPerMinute)},
                      {"to", FormatRfc3339(to_minute * kMillisPerMinute)},
                      {"retention_days", ctx.options->usage_retention_days},
                      {"valid", total_valid},
                      {"total", total},
                      {"credits", total_credits},
                      {"allowance", std::move(*allowance)},
                      {"data", std::move(data)}});
}

}  // namespace

void RegisterUsageRoutes(RouteTable& table) {
  table.Add({"GET", "/v1/usage", "getUsage", Access::kRootOrManagingKey, Usage, "usage:read"});
}

}  // namespace keyward
