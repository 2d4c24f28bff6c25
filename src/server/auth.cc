#include "server/auth.h"

#include "core/time_format.h"

#include "core/key_service.h"
#include "core/web_sessions.h"
#include "server/api.h"
#include "server/forwarded.h"

namespace keyward {

std::string VerifyMessage(Code code, const VerifyResult& r) {
  switch (code) {
    case Code::kValid:
      return "the API key is valid";
    case Code::kMissing:
      return "no API key: send it as Authorization: Bearer <key> or in X-API-Key";
    case Code::kMalformed:
      return "the API key is malformed; check it for a typo";
    case Code::kInvalid:
      return "the API key is not valid";
    case Code::kRevoked:
      return "the API key has been revoked";
    case Code::kExpired:
      return "the API key has expired";
    case Code::kDisabled:
      return "the API key is disabled";
    case Code::kWrongEnvironment:
      return "the API key belongs to the " +
             (r.key ? std::string(r.key->environment()) : std::string("other")) +
             " environment, which this endpoint does not accept";
    case Code::kIpNotAllowed:
      return "requests from this IP address are not allowed for this API key";
    case Code::kReferrerNotAllowed:
      return "requests from this referrer are not allowed for this API key";
    case Code::kEndpointNotAllowed:
      return "this API key may not call this endpoint";
    case Code::kInsufficientScope:
      return "the API key lacks a scope this request needs";
    case Code::kRateLimited:
      return "rate limit exceeded; retry after " +
             std::to_string(r.ratelimit ? r.ratelimit->retry_after_seconds : 1) + " s";
    case Code::kQuotaExceeded: {
      const bool own = r.key_credits && r.key_credits->remaining < r.cost;
      const std::optional<CreditState>& c = own ? r.key_credits : r.workspace_credits;
      std::string m = own ? "this API key's credits are used up"
                          : "the workspace's monthly credits are used up";
      if (c) {
        m += " (" + std::to_string(c->remaining) + " left, this request costs " +
             std::to_string(r.cost) + ")";
        if (c->reset > 0) m += "; they renew at " + FormatRfc3339(c->reset);
      }
      return m;
    }
    case Code::kUnavailable:
      return "key storage is unavailable; try again";
    default:
      return std::string(CodeName(code));
  }
}

bool Authenticate(Call& call, const RouteContext& ctx, bool allow_self_service) {
  auto client = ClientAddress(call.req, call.peer_ip, ctx.options->trusted_proxies);
  if (!client.ok()) {
    call.Fail(client.status());
    return false;
  }
  call.client_ip = std::move(*client);
  const std::string_view token = BearerToken(call.req);
  if (token.empty()) {
    call.reply.response.Set("WWW-Authenticate", "Bearer realm=\"keyward\"");
    call.Error(Code::kUnauthorized,
               "send a root key or a keys:manage API key as Authorization: Bearer <key>");
    return false;
  }
  const Verifier& verifier = *ctx.verifier;
  if (token.starts_with("kw_root_")) {
    // Guessing root keys is limited like guessing API keys: per address.
    if (verifier.FailureLimited(call.client_ip)) {
      call.Error(Code::kRateLimited,
                 "too many failed authentications from this address; retry in a minute");
      return false;
    }
    auto root = ctx.service->AuthenticateRootKey(token);
    if (!root.ok()) {
      if (root.status().code() != Code::kUnauthorized) {
        call.Fail(root.status());
        return false;
      }
      verifier.RecordFailure(call.client_ip);
      call.reply.response.Set("WWW-Authenticate",
                              "Bearer realm=\"keyward\", error=\"invalid_token\"");
      call.Error(Code::kUnauthorized, root.status().message());
      return false;
    }
    call.who.root = true;
    call.who.actor = root->id;
    call.reply.key_prefix = root->short_prefix;
    return true;
  }
  // A self-service API key: it must verify, from this caller, with
  // keys:manage. Authentication, not a verification: no usage is counted.
  static const std::vector<std::string> kManage = {"keys:manage"};
  VerifyRequest vr;
  vr.key = token;
  vr.ip = call.client_ip;
  vr.referrer = Header(call.req, "Referer");
  vr.scopes = kManage;
  vr.management = true;
  const VerifyResult r = verifier.Verify(vr);
  if (r.key) call.reply.key_prefix = r.key->short_prefix();
  if (r.code == Code::kUnavailable) {
    call.Error(Code::kUnavailable, "key storage is unavailable; try again");
    return false;
  }
  if (r.code == Code::kRateLimited) {
    call.Error(Code::kRateLimited, VerifyMessage(r.code, r));
    return false;
  }
  if (r.code == Code::kInsufficientScope || (r.valid() && !allow_self_service)) {
    call.Error(Code::kInsufficientScope, allow_self_service
                                             ? "this API key lacks the keys:manage scope"
                                             : "this route needs a root key");
    return false;
  }
  if (!r.valid()) {
    call.reply.response.Set("WWW-Authenticate",
                            "Bearer realm=\"keyward\", error=\"invalid_token\"");
    if (r.code == Code::kMalformed) {
      call.Error(Code::kUnauthorized,
                 "the credential is malformed: it is neither a root key (kw_root_…) nor an API "
                 "key of this deployment (" +
                     ctx.service->format().product() + "_<environment>_…); check it for a typo");
    } else {
      call.Error(Code::kUnauthorized,
                 "the API key is not valid for management (" + std::string(CodeName(r.code)) + ")");
    }
    return false;
  }
  // The managing key as stored: what it may hand out is bounded by it.
  auto record = ctx.service->GetKey(r.key->id());
  if (!record.ok()) {
    if (record.status().IsNotFound()) {
      call.Error(Code::kUnauthorized, "the API key is not valid for management (invalid)");
    } else {
      call.Fail(record.status());
    }
    return false;
  }
  call.who.actor = r.key->id();
  call.who.workspace_id = r.key->workspace_id();
  call.who.environment = r.key->environment();
  call.who.scopes = r.key->scopes();
  call.who.key = std::move(*record);
  return true;
}

bool MayReach(const Principal& who, std::string_view workspace_id, std::string_view environment) {
  if (who.root) return true;
  return (workspace_id.empty() || workspace_id == who.workspace_id) &&
         (environment.empty() || who.environment.empty() || environment == who.environment);
}

std::optional<std::string_view> CookieValue(const HttpRequest& req, std::string_view name) {
  std::optional<std::string_view> found;
  // Every Cookie header, wherever it stands among the others.
  const auto cookies = req.equal_range(http::field::cookie);
  for (auto it = cookies.first; it != cookies.second; ++it) {
    std::string_view rest(it->value().data(), it->value().size());
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      const std::string_view pair = Trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || Trim(pair.substr(0, eq)) != name) continue;
      const std::string_view value = Trim(pair.substr(eq + 1));
      if (found && *found != value) return std::nullopt;
      found = value;
    }
  }
  return found.value_or(std::string_view());
}

bool FromOwnOrigin(Call& call, const RouteContext& ctx) {
  const std::string_view site = Header(call.req, "Sec-Fetch-Site");
  const std::string_view origin = Header(call.req, "Origin");
  const PageOptions& pages = ctx.options->pages;
  bool same = !origin.empty() && origin == pages.public_url;
  if (!same && !pages.public_url_configured && !origin.empty()) {
    const std::string_view host = Header(call.req, "Host");
    same = !host.empty() && origin.starts_with("http://") && origin.substr(7) == host;
  }
  if (!site.empty() && site != "same-origin") same = false;
  if (!same) {
    call.Error(Code::kForbidden,
               "cross-site request refused: changes from a browser session must come from this "
               "deployment's own pages (" +
                   pages.public_url + ")");
  }
  return same;
}

namespace {

bool HasPermission(const PortalSession& ps, std::string_view permission) {
  for (const auto& p : ps.permissions) {
    if (p == permission) return true;
  }
  return false;
}

// Constant time in the length of a, so a token cannot be guessed byte by byte.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool AuthenticateSession(Call& call, const RouteContext& ctx, const Route& route) {
  auto client = ClientAddress(call.req, call.peer_ip, ctx.options->trusted_proxies);
  if (!client.ok()) {
    call.Fail(client.status());
    return false;
  }
  call.client_ip = std::move(*client);
  const std::string_view kind = Header(call.req, kSessionHeader);
  if (kind != "portal" && kind != "console") {
    call.Error(kind.empty() ? Code::kUnauthorized : Code::kInvalidRequest,
               kind.empty() ? "this route needs a browser session: send X-Keyward-Session: portal "
                              "or console with the session cookie"
                            : "X-Keyward-Session must be portal or console");
    return false;
  }
  if (!Header(call.req, "Authorization").empty() || !Header(call.req, "X-API-Key").empty()) {
    call.Error(Code::kInvalidRequest,
               "send either a credential (Authorization, X-API-Key) or a browser session "
               "(X-Keyward-Session), not both");
    return false;
  }
  if (ctx.sessions == nullptr) {
    call.Error(Code::kUnauthorized, "this deployment has no browser sessions");
    return false;
  }
  const auto token = CookieValue(call.req, kind == "portal" ? kPortalCookie : kConsoleCookie);
  if (!token) {
    call.Error(Code::kInvalidRequest, "the session cookie is sent twice with different values");
    return false;
  }
  const Verifier& verifier = *ctx.verifier;
  if (verifier.FailureLimited(call.client_ip)) {
    call.Error(Code::kRateLimited,
               "too many failed authentications from this address; retry in a minute");
    return false;
  }
  std::optional<PortalSession> portal;
  auto active = ctx.sessions->Resolve(*token, kind, &portal);
  if (!active.ok()) {
    const Code code = active.status().code();
    if (code == Code::kSessionExpired) {
      call.reply.code = code;
      Json body = {{"error", CodeName(code)}, {"message", active.status().message()}};
      body["return_url"] =
          portal && !portal->return_url.empty() ? Json(portal->return_url) : Json(nullptr);
      call.SendJson(401, body);
      return false;
    }
    // A guessed or stale token spends the address's failure budget, like a
    // guessed key; a missing cookie is only a page not signed in.
    if (code == Code::kUnauthorized && !token->empty()) verifier.RecordFailure(call.client_ip);
    call.Fail(active.status());
    return false;
  }
  const std::string_view method(call.req.method_string().data(), call.req.method_string().size());
  if (method != "GET" && method != "HEAD") {
    if (!FromOwnOrigin(call, ctx)) return false;
    if (!SameSecret(Header(call.req, kCsrfHeader), WebSessions::CsrfToken(*token))) {
      call.Error(Code::kForbidden, "the X-CSRF-Token header is missing or wrong; reload the page");
      return false;
    }
  }
  call.who.session = std::string(kind);
  call.who.session_expires_at = active->session.expires_at;
  if (kind == "console") {
    call.who.root = true;
    call.who.actor = active->root->id;
    call.reply.key_prefix = active->root->short_prefix;
    return true;
  }
  const PortalSession& ps = *active->portal;
  if (route.access != Access::kSession) {
    if (route.portal_permission == nullptr) {
      call.Error(Code::kForbidden, "the portal cannot do this; ask the operator");
      return false;
    }
    if (!HasPermission(ps, route.portal_permission)) {
      call.Error(Code::kForbidden,
                 std::string("this portal session does not allow ") + route.portal_permission);
      return false;
    }
  }
  call.who.actor = ps.actor;
  call.who.workspace_id = ps.workspace_id;
  call.who.environment = ps.environment;
  call.who.scopes = ps.scopes;
  call.who.portal = ps;
  return true;
}

std::optional<ApiKey> LoadVisibleKey(Call& call, const RouteContext& ctx, std::string_view id) {
  auto key = ctx.service->GetKey(id);
  if (!key.ok()) {
    call.Fail(key.status());
    return std::nullopt;
  }
  if (!MayReach(call.who, key->workspace_id, key->environment)) {
    call.Error(Code::kNotFound, "no API key " + std::string(id));
    return std::nullopt;
  }
  call.reply.key_prefix = key->short_prefix;
  return std::move(*key);
}

bool ScopesWithinCaller(Call& call, const std::vector<std::string>& scopes) {
  if (call.who.root) return true;
  for (const auto& s : scopes) {
    bool held = false;
    for (const auto& g : call.who.scopes) held = held || ScopeGrants(g, s);
    if (!held) {
      call.Error(Code::kInsufficientScope,
                 "cannot grant scope \"" + s + "\", which the calling key does not hold");
      return false;
    }
  }
  return true;
}

std::optional<Json> WriteBody(Call& call, const RouteContext& ctx, bool allow_empty) {
  auto body = call.Body(allow_empty);
  if (!body) return body;
  // A key pasted into a name, a meta value or a reason would be stored, listed
  // and audited in full: refuse it before anything is written.
  if (auto prefix = ctx.service->FindKeyIn(Dump(*body))) {
    call.Error(Code::kInvalidRequest,
               "the request holds an API key (" + *prefix +
                   "…); keys are secrets and are never stored in names, meta or reasons");
    return std::nullopt;
  }
  return body;
}

}  // namespace keyward
