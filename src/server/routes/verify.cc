// POST /v1/keys/verify: a key checked against a described request, answered as JSON.
// Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include "core/cidr.h"
#include "core/key_service.h"
#include "core/policy.h"
#include "core/time_format.h"
#include "server/api.h"
#include "server/auth.h"

namespace keyward {
namespace {

void VerifyKey(Call& call, const RouteContext& ctx) {
  auto body = call.Body(false);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::string> key, environment, ip, referrer, method, path;
  std::optional<std::vector<std::string>> scopes;
  std::optional<int64_t> cost;
  if (!call.Check(f.OnlyFields(
          {"key", "environment", "ip", "referrer", "method", "path", "scopes", "cost"})) ||
      !call.Check(f.Int("cost", 0, kMaxRequestCost, &cost)) || !call.Check(f.String("key", &key)) ||
      !call.Check(f.String("environment", &environment)) || !call.Check(f.String("ip", &ip)) ||
      !call.Check(f.String("referrer", &referrer)) || !call.Check(f.String("method", &method)) ||
      !call.Check(f.String("path", &path)) || !call.Check(f.StringList("scopes", &scopes))) {
    return;
  }
  if (ip && !ip->empty() && !ParseIpAddress(*ip)) {
    return call.Error(Code::kInvalidRequest,
                      "ip must be an IPv4 or IPv6 address, like 203.0.113.7 or 2001:db8::1");
  }
  VerifyRequest vr;
  vr.key = key ? std::string_view(*key) : std::string_view();
  if (environment) vr.environment = *environment;
  if (ip) vr.ip = *ip;
  if (referrer) vr.referrer = *referrer;
  if (method) vr.method = *method;
  if (path) vr.path = *path;
  if (scopes) vr.scopes = *scopes;
  vr.cost = cost;
  const VerifyResult r = ctx.verifier->Verify(vr);
  ctx.api->metrics().RecordVerification(r.code);
  if (r.code == Code::kMalformed) call.reply.reason = KeyParseErrorName(r.parse_error);
  if (r.code == Code::kUnavailable) return call.Error(Code::kUnavailable, VerifyMessage(r.code, r));
  Json j = {{"valid", r.valid()}, {"code", CodeName(r.code)}};
  if (!r.valid()) j["message"] = VerifyMessage(r.code, r);
  if (r.key) {
    const VerifiableKey& k = *r.key;
    call.reply.key_prefix = k.short_prefix();
    Json meta = Json::parse(k.meta_json(), nullptr, false);
    j["key_id"] = k.id();
    j["workspace_id"] = k.workspace_id();
    j["environment"] = k.environment();
    j["name"] = k.name();
    j["scopes"] = k.scopes();
    j["meta"] = meta.is_object() ? meta : Json::object();
    j["expires_at"] = TimeOrNull(k.expires_at());
  }
  if (r.ratelimit) {
    j["ratelimit"] = {{"limit", r.ratelimit->limit},
                      {"remaining", r.ratelimit->remaining},
                      {"reset", r.ratelimit->reset_seconds}};
  }
  if (r.workspace_credits || r.key_credits) {
    Json credits = Json::object();
    if (r.workspace_credits) credits["workspace"] = CreditStateJson(*r.workspace_credits);
    if (r.key_credits) credits["key"] = CreditStateJson(*r.key_credits);
    j["credits"] = std::move(credits);
  }
  if (r.key) j["cost"] = r.valid() ? r.cost : 0;
  call.reply.code = r.code;
  call.SendJson(200, j);
}

}  // namespace

void RegisterVerifyRoutes(RouteTable& table) {
  table.Add({"POST", "/v1/keys/verify", "verifyApiKey", Access::kRoot, VerifyKey});
}

}  // namespace keyward
