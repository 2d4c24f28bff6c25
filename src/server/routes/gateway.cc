// Gateway mode: GET /v1/auth (nginx auth_request, Caddy forward_auth, Traefik) and /v1/auth/{path}
// (Envoy ext_authz), the credential and the original request in headers, the answer in the status
// and X-Keyward-* headers. Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include "server/api.h"
#include "server/auth.h"
#include "server/forwarded.h"
#include "server/http_status.h"

namespace keyward {
namespace {

void GatewayAuth(Call& call, const RouteContext& ctx) {
  const HttpRequest& req = call.req;
  std::string_view key = BearerToken(req);
  const std::string_view api_key_header = Trim(Header(req, "X-API-Key"));
  if (!key.empty() && !api_key_header.empty() && key != api_key_header) {
    return call.Error(Code::kInvalidRequest,
                      "Authorization and X-API-Key carry different keys; send one key");
  }
  if (key.empty()) key = api_key_header;

  std::string envoy_path;
  if (!call.params.empty()) {
    // Envoy ext_authz style: /v1/auth/<original path>?<original query>.
    envoy_path = "/" + std::string(call.params[0]);
    if (!call.query.empty()) envoy_path += "?" + std::string(call.query);
  }
  auto facts = GatewayFacts(req, call.peer_ip, envoy_path, ctx.options->trusted_proxies);
  if (!facts.ok()) return call.Fail(facts.status());
  const std::vector<std::string> scopes = SplitList(Header(req, "X-Keyward-Required-Scopes"));

  VerifyRequest vr;
  vr.key = key;
  vr.environment = Trim(Header(req, "X-Keyward-Required-Environment"));
  vr.ip = facts->client_ip;
  vr.referrer = Header(req, "Referer");
  vr.method = facts->method;
  vr.path = facts->uri;
  vr.scopes = scopes;
  const VerifyResult r = ctx.verifier->Verify(vr);
  ctx.api->metrics().RecordVerification(r.code);
  call.reply.code = r.code;
  if (r.code == Code::kMalformed) call.reply.reason = KeyParseErrorName(r.parse_error);
  auto& res = call.reply.response;
  if (r.key) call.reply.key_prefix = r.key->short_prefix();
  if (r.ratelimit) {
    res.Set("RateLimit-Limit", std::to_string(r.ratelimit->limit));
    res.Set("RateLimit-Remaining", std::to_string(r.ratelimit->remaining));
    res.Set("RateLimit-Reset", std::to_string(r.ratelimit->reset_seconds));
  }
  if (r.valid()) {
    const VerifiableKey& k = *r.key;
    res.status = 200;
    res.Set("X-Keyward-Key-Id", k.id());
    res.Set("X-Keyward-Workspace-Id", k.workspace_id());
    res.Set("X-Keyward-Environment", k.environment());
    std::string joined;
    for (const auto& s : k.scopes()) joined += (joined.empty() ? "" : ",") + s;
    res.Set("X-Keyward-Scopes", joined);
    return;
  }
  if (r.code == Code::kRateLimited && r.ratelimit) {
    res.Set("Retry-After", std::to_string(r.ratelimit->retry_after_seconds));
  }
  if (HttpStatusFor(r.code) == 401) {
    res.Set("WWW-Authenticate", r.code == Code::kMissing
                                    ? "Bearer realm=\"api\""
                                    : "Bearer realm=\"api\", error=\"invalid_token\"");
  }
  call.Send(HttpStatusFor(r.code), ErrorBody(r.code, VerifyMessage(r.code, r)));
}

}  // namespace

void RegisterGatewayRoutes(RouteTable& table) {
  table.Add({"*", "/v1/auth", "authorizeRequest", Access::kApiKey, GatewayAuth});
  table.Add({"*", "/v1/auth/{path*}", "authorizeRequestWithPath", Access::kApiKey, GatewayAuth});
}

}  // namespace keyward
