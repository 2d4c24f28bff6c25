// API keys: create (the secret once), list, read, change, revoke and rotate; for root keys and,
// within their own workspace and environment, managing keys. Thread-safe: handlers run on any
// serving thread at once.
#include "server/routes/routes.h"

#include <unordered_map>

#include "core/key_service.h"
#include "core/time_format.h"
#include "server/api.h"
#include "server/auth.h"

namespace keyward {
namespace {

// The rotation policy in force for each workspace an answer shows keys of,
// read once per workspace per answer.
class RotationPolicies {
 public:
  explicit RotationPolicies(const RouteContext& ctx) : ctx_(ctx) {}
  Result<std::optional<int64_t>> For(const std::string& workspace_id) {
    auto it = days_.find(workspace_id);
    if (it != days_.end()) return it->second;
    auto days = ctx_.service->RotateAfterDays(workspace_id);
    if (!days.ok()) return days.status();
    days_.emplace(workspace_id, *days);
    return *days;
  }

 private:
  const RouteContext& ctx_;
  std::unordered_map<std::string, std::optional<int64_t>> days_;
};

// The key as answered, with its credits and rotation advice. After a write,
// which has committed (and may carry a secret shown only now), what cannot
// be read is left out instead: no credits left, no rotation due.
Result<Json> KeyAnswer(const RouteContext& ctx, const ApiKey& key, const RequestCounts* counts,
                       RotationPolicies& policies, bool after_write = false) {
  auto left = KeyCreditsLeft(ctx, key);
  if (!left.ok() && !after_write) return left.status();
  auto days = policies.For(key.workspace_id);
  if (!days.ok() && !after_write) return days.status();
  return KeyJson(key, ctx.service->clock().Now(), counts, left.ok() ? *left : std::nullopt,
                 days.ok() ? *days : std::nullopt);
}

void CreateKey(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::string> workspace_id, environment, meta;
  NewKeyParams p;
  std::optional<std::vector<std::string>> scopes, ips, referrers, endpoints;
  std::optional<std::optional<Timestamp>> expires;
  std::optional<std::optional<RateLimit>> rate;
  std::optional<std::optional<KeyCredits>> credits;
  if (!call.Check(f.OnlyFields({"workspace_id", "environment", "name", "scopes", "expires_at",
                                "ip_allowlist", "referrer_allowlist", "endpoint_allowlist",
                                "rate_limit", "credits", "meta"})) ||
      !call.Check(f.String("workspace_id", &workspace_id)) ||
      !call.Check(f.String("environment", &environment)) ||
      !call.Check(f.RequiredString("name", &p.name)) ||
      !call.Check(f.StringList("scopes", &scopes)) ||
      !call.Check(f.NullableTime("expires_at", &expires)) ||
      !call.Check(f.StringList("ip_allowlist", &ips)) ||
      !call.Check(f.StringList("referrer_allowlist", &referrers)) ||
      !call.Check(f.StringList("endpoint_allowlist", &endpoints)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &rate)) ||
      !call.Check(f.NullableKeyCredits("credits", &credits)) ||
      !call.Check(f.Object("meta", &meta))) {
    return;
  }
  if (credits && *credits && !call.who.root) {
    return call.Error(Code::kForbidden,
                      "only a root key sets a key's credits: they are what the operator sells");
  }
  if (!call.who.root) {
    if (workspace_id && !MayReach(call.who, *workspace_id, "")) {
      return call.Error(Code::kNotFound, "no workspace " + *workspace_id);
    }
    if (environment && !MayReach(call.who, "", *environment)) {
      return call.Error(Code::kInsufficientScope, "this key may only create keys in the " +
                                                      call.who.environment + " environment");
    }
    workspace_id = call.who.workspace_id;
    // A portal session for every environment takes the one asked for.
    if (!call.who.environment.empty()) environment = call.who.environment;
  }
  if (call.who.key) {
    // Left out means "as the caller"; asking outright for no restriction the
    // caller has is refused rather than quietly narrowed.
    const ApiKey& caller = *call.who.key;
    const char* widened = nullptr;
    if (ips && ips->empty() && !caller.ip_allowlist.empty()) widened = "ip_allowlist";
    if (referrers && referrers->empty() && !caller.referrer_allowlist.empty())
      widened = "referrer_allowlist";
    if (endpoints && endpoints->empty() && !caller.endpoint_allowlist.empty())
      widened = "endpoint_allowlist";
    if (expires && !*expires && caller.expires_at) widened = "expires_at";
    if (rate && !*rate && caller.rate_limit) widened = "rate_limit";
    if (widened != nullptr) {
      return call.Error(Code::kForbidden, std::string(widened) +
                                              " cannot be left unrestricted: the calling key " +
                                              caller.id + " has one, and bounds what it creates");
    }
  }
  if (!workspace_id) return call.Error(Code::kInvalidRequest, "workspace_id is required");
  if (!environment) return call.Error(Code::kInvalidRequest, "environment is required");
  p.workspace_id = std::move(*workspace_id);
  p.environment = std::move(*environment);
  if (scopes) p.scopes = std::move(*scopes);
  if (!ScopesWithinCaller(call, p.scopes)) return;
  if (ips) p.ip_allowlist = std::move(*ips);
  if (referrers) p.referrer_allowlist = std::move(*referrers);
  if (endpoints) p.endpoint_allowlist = std::move(*endpoints);
  if (rate) p.rate_limit = *rate;
  if (credits) p.credits = *credits;
  if (meta) p.meta_json = std::move(*meta);
  if (expires) p.expires_at = *expires;
  auto created = ctx.service->CreateKey(std::move(p), call.actor());
  if (!created.ok()) return call.Fail(created.status());
  call.reply.key_prefix = created->record.short_prefix;
  RotationPolicies policies(ctx);
  Json j = *KeyAnswer(ctx, created->record, nullptr, policies, /*after_write=*/true);
  j["key"] = created->secret;
  call.SendJson(201, j);
}

void ListKeys(Call& call, const RouteContext& ctx) {
  QueryParams q;
  PageRequest page;
  if (!call.Query({"workspace_id", "environment", "status", "rotation_due", "cursor", "limit"},
                  &q) ||
      !call.Page(q, &page)) {
    return;
  }
  KeyFilter filter;
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") filter.workspace_id = v;
    if (k == "environment") filter.environment = v;
    if (k == "status" && !v.empty()) {
      filter.status = KeyStatusFromName(v);
      if (!filter.status) {
        return call.Error(Code::kInvalidRequest,
                          "status must be one of active, revoked, expired, disabled");
      }
    }
    if (k == "rotation_due" && !v.empty()) {
      // Only true: the keys to act on ("not due" would be every other key).
      if (v != "true") return call.Error(Code::kInvalidRequest, "rotation_due must be true");
      filter.rotation_due = true;
    }
  }
  if (!call.who.root) {
    if (!MayReach(call.who, filter.workspace_id, filter.environment)) {
      return call.Error(Code::kNotFound, "no such workspace or environment");
    }
    filter.workspace_id = call.who.workspace_id;
    if (!call.who.environment.empty()) filter.environment = call.who.environment;
  }
  auto list = ctx.service->ListKeys(filter, page);
  if (!list.ok()) return call.Fail(list.status());
  std::vector<std::string> ids;
  for (const auto& k : list->items) ids.push_back(k.id);
  auto counts = ctx.service->CountRequests(ids);
  if (!counts.ok()) return call.Fail(counts.status());
  Json data = Json::array();
  RotationPolicies policies(ctx);
  for (const auto& k : list->items) {
    auto j = KeyAnswer(ctx, k, &(*counts)[k.id], policies);
    if (!j.ok()) return call.Fail(j.status());
    data.push_back(std::move(*j));
  }
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

void GetKey(Call& call, const RouteContext& ctx) {
  auto key = LoadVisibleKey(call, ctx, call.params[0]);
  if (!key) return;
  auto counts = ctx.service->CountRequests({key->id});
  if (!counts.ok()) return call.Fail(counts.status());
  RotationPolicies policies(ctx);
  auto j = KeyAnswer(ctx, *key, &(*counts)[key->id], policies);
  if (!j.ok()) return call.Fail(j.status());
  call.SendJson(200, *j);
}

void UpdateKey(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  KeyUpdate u;
  if (!call.Check(f.OnlyFields({"name", "scopes", "ip_allowlist", "referrer_allowlist",
                                "endpoint_allowlist", "rate_limit", "credits", "meta", "enabled",
                                "expires_at"})) ||
      !call.Check(f.String("name", &u.name)) || !call.Check(f.StringList("scopes", &u.scopes)) ||
      !call.Check(f.StringList("ip_allowlist", &u.ip_allowlist)) ||
      !call.Check(f.StringList("referrer_allowlist", &u.referrer_allowlist)) ||
      !call.Check(f.StringList("endpoint_allowlist", &u.endpoint_allowlist)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &u.rate_limit)) ||
      !call.Check(f.NullableKeyCredits("credits", &u.credits)) ||
      !call.Check(f.Object("meta", &u.meta_json)) || !call.Check(f.Bool("enabled", &u.enabled)) ||
      !call.Check(f.NullableTime("expires_at", &u.expires_at))) {
    return;
  }
  auto target = LoadVisibleKey(call, ctx, call.params[0]);
  // A managing key may not change a key more powerful than itself.
  if (!target || !ScopesWithinCaller(call, target->scopes)) return;
  if (u.scopes && !ScopesWithinCaller(call, *u.scopes)) return;
  if (u.credits && !call.who.root) {
    return call.Error(Code::kForbidden,
                      "only a root key sets a key's credits: they are what the operator sells");
  }
  auto key = ctx.service->UpdateKey(call.params[0], u, call.actor());
  if (!key.ok()) return call.Fail(key.status());
  RotationPolicies policies(ctx);
  call.SendJson(200, *KeyAnswer(ctx, *key, nullptr, policies, /*after_write=*/true));
}

void RevokeKey(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, true);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::string> reason;
  if (!call.Check(f.OnlyFields({"reason"})) || !call.Check(f.String("reason", &reason))) return;
  if (!LoadVisibleKey(call, ctx, call.params[0])) return;
  auto key = ctx.service->RevokeKey(call.params[0], reason.value_or(""), call.actor());
  if (!key.ok()) return call.Fail(key.status());
  call.SendJson(
      200, {{"id", key->id}, {"status", "revoked"}, {"revoked_at", TimeOrNull(key->revoked_at)}});
}

void RotateKey(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, true);
  if (!body) return;
  FieldReader f(*body);
  std::optional<int64_t> grace;
  std::optional<std::optional<Timestamp>> expires;
  if (!call.Check(f.OnlyFields({"grace_seconds", "expires_at"})) ||
      !call.Check(f.Int("grace_seconds", 0, 30 * 86400, &grace)) ||
      !call.Check(f.NullableTime("expires_at", &expires))) {
    return;
  }
  auto target = LoadVisibleKey(call, ctx, call.params[0]);
  if (!target) return;
  // Rotation hands out a secret with the old key's scopes: a managing key
  // must hold them. A portal session acts for the workspace, whose keys
  // they are: keys:rotate is its grant.
  if (call.who.session != "portal" && !ScopesWithinCaller(call, target->scopes)) return;
  auto rotated = ctx.service->RotateKey(call.params[0], grace.value_or(0), expires, call.actor());
  if (!rotated.ok()) return call.Fail(rotated.status());
  auto old = ctx.service->GetKey(call.params[0]);
  RotationPolicies policies(ctx);
  Json j = *KeyAnswer(ctx, rotated->record, nullptr, policies, /*after_write=*/true);
  j["key"] = rotated->secret;
  j["old_key"] = {{"id", std::string(call.params[0])},
                  {"expires_at", old.ok() ? TimeOrNull(old->expires_at) : Json(nullptr)}};
  call.reply.key_prefix = rotated->record.short_prefix;
  call.SendJson(201, j);
}

}  // namespace

void RegisterApiKeyRoutes(RouteTable& table) {
  // The last field: what a portal session needs to call the route.
  table.Add({"POST", "/v1/api-keys", "createApiKey", Access::kRootOrManagingKey, CreateKey,
             "keys:create"});
  table.Add(
      {"GET", "/v1/api-keys", "listApiKeys", Access::kRootOrManagingKey, ListKeys, "keys:read"});
  table.Add(
      {"GET", "/v1/api-keys/{id}", "getApiKey", Access::kRootOrManagingKey, GetKey, "keys:read"});
  table.Add({"PATCH", "/v1/api-keys/{id}", "updateApiKey", Access::kRootOrManagingKey, UpdateKey});
  table.Add({"DELETE", "/v1/api-keys/{id}", "revokeApiKey", Access::kRootOrManagingKey, RevokeKey,
             "keys:revoke"});
  table.Add({"POST", "/v1/api-keys/{id}/rotate", "rotateApiKey", Access::kRootOrManagingKey,
             RotateKey, "keys:rotate"});
}

}  // namespace keyward
