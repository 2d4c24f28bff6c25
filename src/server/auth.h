// Authentication and tenant checks for the management API, in one place for
// every route (and, later, every page of the dashboard): turning a
// credential into a Principal, and deciding what that principal may see.
// Thread-safe: functions of the request and of thread-safe services.
#ifndef KEYWARD_SERVER_AUTH_H_
#define KEYWARD_SERVER_AUTH_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/verifier.h"
#include "server/call.h"
#include "server/route.h"

namespace keyward {

// Sets call.client_ip and call.who from the request's credential: a root
// key, or (with allow_self_service) an API key with keys:manage that
// verifies from this client. Answers the error and returns false otherwise.
bool Authenticate(Call& call, const RouteContext& ctx, bool allow_self_service);

// The header a page of the portal or the console sends to make its session
// cookie the credential ("portal" or "console"), and the header carrying
// the session's CSRF token on every change.
inline constexpr const char* kSessionHeader = "X-Keyward-Session";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";
// The cookies holding the two kinds of session.
inline constexpr const char* kPortalCookie = "kw_portal";
inline constexpr const char* kConsoleCookie = "kw_console";

// Sets call.client_ip and call.who from the browser session the request
// names (X-Keyward-Session) and its cookie, for route. A console session
// acts as its root key, on the routes a root key may call; a portal session
// as its workspace (and environment), on the routes whose portal_permission
// it holds. A change (any method but GET and HEAD) must come from this
// deployment's own origin (Origin, Sec-Fetch-Site) and carry the session's
// CSRF token. Answers the error and returns false otherwise; an expired
// session answers 401 session_expired with the portal's return_url.
bool AuthenticateSession(Call& call, const RouteContext& ctx, const Route& route);

// The value of cookie name: empty when absent; nullopt when sent twice with
// different values.
std::optional<std::string_view> CookieValue(const HttpRequest& req, std::string_view name);

// Whether the request comes from a page of this deployment: Origin is
// public_url (or, when public_url is not configured, the request's own
// Host), and Sec-Fetch-Site, when sent, is same-origin. Answers 403
// forbidden and returns false otherwise.
bool FromOwnOrigin(Call& call, const RouteContext& ctx);

// The tenant rule, for every route and every page: whether the principal
// may see objects of this workspace and environment. A root key sees all; a
// managing key its own workspace and environment; a portal session its
// workspace and its environment, or all of the workspace's when it has
// none. An empty workspace or environment means the principal's own.
bool MayReach(const Principal& who, std::string_view workspace_id, std::string_view environment);

// The key, when the caller may see it; answers 404 (never a hint that it
// exists elsewhere) otherwise.
std::optional<ApiKey> LoadVisibleKey(Call& call, const RouteContext& ctx, std::string_view id);

// Whether the caller holds every scope in scopes (root: always); answers
// 403 insufficient_scope otherwise.
bool ScopesWithinCaller(Call& call, const std::vector<std::string>& scopes);

// The JSON body of a write, refused when it holds an issued-format key.
std::optional<Json> WriteBody(Call& call, const RouteContext& ctx, bool allow_empty);

// The message for a verification code, for people.
std::string VerifyMessage(Code code, const VerifyResult& r);

}  // namespace keyward

#endif  // KEYWARD_SERVER_AUTH_H_
