// Gateway mode: GET /v1/auth (nginx auth_request, Caddy forward_auth, Traefik) and /v1/auth/{path}
// (Envoy ext_authz), the credential and the original request in headers, the answer in the status
// and X-Keyward-* headers. Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include <algorithm>
#include <charconv>

#include "core/policy.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/forwarded.h"
#include "server/http_status.h"

namespace keyward {
namespace {

// Seconds from now until t, at least 0, rounded up.
int64_t SecondsUntil(Timestamp t, Timestamp now) {
  return t <= now ? 0 : (t - now + kMillisPerSecond - 1) / kMillisPerSecond;
}

// The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers
// (structured fields, one member per policy): the key's rate limit ("requests"), its
// workspace's monthly credits ("credits") and its own credits ("key_credits").
void SetRateLimitFields(const VerifyResult& r, Timestamp now, ApiResponse* res) {
  std::string policy, state;
  auto add = [&](std::string_view name, int64_t quota, int64_t window, int64_t remaining,
                 std::optional<int64_t> reset) {
    if (!policy.empty()) {
      policy += ", ";
      state += ", ";
    }
    policy += "\"" + std::string(name) + "\";q=" + std::to_string(quota);
    if (window > 0) policy += ";w=" + std::to_string(window);
    state += "\"" + std::string(name) + "\";r=" + std::to_string(remaining);
    if (reset) state += ";t=" + std::to_string(*reset);
  };
  if (r.ratelimit && r.rate_limit) {
    add("requests", r.ratelimit->limit, r.rate_limit->period_seconds, r.ratelimit->remaining,
        r.ratelimit->reset_seconds);
  }
  auto add_credits = [&](std::string_view name, const std::optional<CreditState>& c) {
    if (!c) return;
    const int64_t window = c->reset > 0 ? SecondsUntil(c->reset, c->period_start) : 0;
    add(name, c->limit, window, c->remaining,
        c->reset > 0 ? std::optional<int64_t>(SecondsUntil(c->reset, now)) : std::nullopt);
  };
  add_credits("credits", r.workspace_credits);
  add_credits("key_credits", r.key_credits);
  if (policy.empty()) return;
  res->Set("RateLimit-Policy", policy);
  res->Set("RateLimit", state);
}

// When a refused request may be tried again: the rate limit's wait, or the
// start of the next credit period.
std::optional<int64_t> RetryAfter(const VerifyResult& r, Timestamp now) {
  if (r.code == Code::kRateLimited && r.ratelimit) return r.ratelimit->retry_after_seconds;
  if (r.code != Code::kQuotaExceeded) return std::nullopt;
  std::optional<int64_t> wait;
  for (const auto* c : {&r.workspace_credits, &r.key_credits}) {
    if (*c && (*c)->remaining < r.cost && (*c)->reset > 0) {
      wait = std::max(wait.value_or(0), SecondsUntil((*c)->reset, now));
    }
  }
  return wait;
}

void AnswerGatewayAuth(Call& call, const RouteContext& ctx) {
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
  // What the request costs, when the gateway says (see README: the gateway
  // must set or clear it, as it does X-Keyward-Required-Scopes).
  std::optional<int64_t> cost;
  if (const std::string_view text = Trim(Header(req, "X-Keyward-Cost")); !text.empty()) {
    int64_t n = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 0 || n > kMaxRequestCost) {
      return call.Error(Code::kInvalidRequest,
                        "X-Keyward-Cost must be a whole number of credits from 0 to 1000000");
    }
    cost = n;
  }

  VerifyRequest vr;
  vr.key = key;
  vr.environment = Trim(Header(req, "X-Keyward-Required-Environment"));
  vr.ip = facts->client_ip;
  vr.referrer = Header(req, "Referer");
  vr.method = facts->method;
  vr.path = facts->uri;
  vr.scopes = scopes;
  vr.cost = cost;
  const VerifyResult r = ctx.verifier->Verify(vr);
  ctx.api->metrics().RecordVerification(r.code);
  call.reply.code = r.code;
  if (r.code == Code::kMalformed) call.reply.reason = KeyParseErrorName(r.parse_error);
  auto& res = call.reply.response;
  if (r.key) call.reply.key_prefix = r.key->short_prefix();
  const Timestamp now = ctx.service->clock().Now();
  if (r.ratelimit) {
    // The draft's earlier fields, kept for clients that read them (README).
    res.Set("RateLimit-Limit", std::to_string(r.ratelimit->limit));
    res.Set("RateLimit-Remaining", std::to_string(r.ratelimit->remaining));
    res.Set("RateLimit-Reset", std::to_string(r.ratelimit->reset_seconds));
  }
  SetRateLimitFields(r, now, &res);
  if (r.valid()) {
    const VerifiableKey& k = *r.key;
    res.status = 200;
    res.Set("X-Keyward-Key-Id", k.id());
    res.Set("X-Keyward-Workspace-Id", k.workspace_id());
    res.Set("X-Keyward-Environment", k.environment());
    std::string joined(k.scopes_text());
    std::replace(joined.begin(), joined.end(), ' ', ',');
    res.Set("X-Keyward-Scopes", joined);
    return;
  }
  if (const auto wait = RetryAfter(r, now)) res.Set("Retry-After", std::to_string(*wait));
  if (HttpStatusFor(r.code) == 401) {
    res.Set("WWW-Authenticate", r.code == Code::kMissing
                                    ? "Bearer realm=\"api\""
                                    : "Bearer realm=\"api\", error=\"invalid_token\"");
  }
  call.Send(HttpStatusFor(r.code), ErrorBody(r.code, VerifyMessage(r.code, r)));
}

// nginx's auth_request passes on only a 401 or a 403, and never the body: a
// gateway that asks with X-Keyward-Error-Header: 1 gets a refusal's JSON body
// in X-Keyward-Error as well (ASCII only), to replay with the status
// (deploy/nginx/keyward.conf). Other clients see nothing new.
void GatewayAuth(Call& call, const RouteContext& ctx) {
  AnswerGatewayAuth(call, ctx);
  ApiResponse& res = call.reply.response;
  if (res.status < 400 || Trim(Header(call.req, "X-Keyward-Error-Header")) != "1") return;
  const Json body = Json::parse(res.body, nullptr, false);
  if (!body.is_discarded()) {
    res.Set("X-Keyward-Error", body.dump(-1, ' ', true, Json::error_handler_t::replace));
  }
}

}  // namespace

void RegisterGatewayRoutes(RouteTable& table) {
  table.Add({"*", "/v1/auth", "authorizeRequest", Access::kApiKey, GatewayAuth});
  table.Add({"*", "/v1/auth/{path*}", "authorizeRequestWithPath", Access::kApiKey, GatewayAuth});
}

}  // namespace keyward
