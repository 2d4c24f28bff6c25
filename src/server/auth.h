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

// The tenant rule, for every route (and every page of the dashboard to
// come): whether the principal may see objects of this workspace and
// environment. A root key sees all; a managing key its own workspace and
// environment. An empty workspace or environment means the principal's own.
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
