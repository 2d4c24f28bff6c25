// Routes as entries: each resource's file (server/routes/) registers its
// routes into a RouteTable, naming for each the method, path pattern,
// OpenAPI operation id, who may call it and its handler. Api authenticates
// as the entry says before the handler runs, so no handler can forget to.
// Thread-safe: a RouteTable is built once, then only read.
#ifndef KEYWARD_SERVER_ROUTE_H_
#define KEYWARD_SERVER_ROUTE_H_

#include <string_view>
#include <vector>

#include "server/call.h"

namespace keyward {

class Api;
class KeyService;
class Verifier;
class WebSessions;
struct ApiOptions;

// Who may call a route.
enum class Access {
  kPublic,             // anyone (health, metrics, the OpenAPI document)
  kApiKey,             // the API key being checked is the credential (gateway mode)
  kRoot,               // a root key (or a console session)
  kRootKey,            // a root key itself, never a session (console sign-in)
  kRootOrManagingKey,  // a root key, or an API key with keys:manage (self-service)
  kSession,            // a browser session of the portal or the console (the cookie)
};

// What handlers reach: the service, the verifier, the options, the Api
// (metrics, readiness) and the browser sessions. Owned by Api, alive as long as it is.
struct RouteContext {
  KeyService* service = nullptr;
  const Verifier* verifier = nullptr;
  const ApiOptions* options = nullptr;
  Api* api = nullptr;
  WebSessions* sessions = nullptr;
};

using RouteHandler = void (*)(Call& call, const RouteContext& ctx);

struct Route {
  const char* method;        // "GET"; "*" for any method
  const char* pattern;       // "/v1/api-keys/{id}"; a final "{rest*}" takes the rest
  const char* operation_id;  // as in openapi.json
  Access access;
  RouteHandler handler;
  // What a portal session needs to call it ("keys:create"); null: portal
  // sessions may not. A console session may call every route a root key
  // may. (A browser session is the credential only when the request names
  // one in X-Keyward-Session: see server/auth.h.)
  const char* portal_permission = nullptr;
};

class RouteTable {
 public:
  void Add(Route route) { routes_.push_back(route); }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Every resource's routes, in the order they are matched
// (server/routes/routes.cc: one line per resource).
RouteTable AllRoutes();

}  // namespace keyward

#endif  // KEYWARD_SERVER_ROUTE_H_
