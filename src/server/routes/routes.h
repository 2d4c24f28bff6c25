// The resources of the HTTP API, one file each in this folder, each
// registering its routes. Adding a route is a handler and a table.Add line
// in its resource's file; adding a resource is a file and a line in
// routes.cc.
// Thread-safe: registration runs once, when Api is built.
#ifndef KEYWARD_SERVER_ROUTES_ROUTES_H_
#define KEYWARD_SERVER_ROUTES_ROUTES_H_

#include "core/model.h"
#include "server/json_codec.h"
#include "server/route.h"

namespace keyward {

// The workspace as the API shows it, with its limits in force, active keys
// and what its allowance has left (of one environment, when set)
// (routes/workspaces.cc; the session page shows it too).
Result<Json> WorkspaceObject(const RouteContext& ctx, const Workspace& ws,
                             std::string_view only_environment = {});

// What the key's own credits have left (nullopt: it has none;
// routes/credits_view.cc).
Result<std::optional<CreditState>> KeyCreditsLeft(const RouteContext& ctx, const ApiKey& key);
// A workspace's allowance in its current period, per environment (or only
// one): {"period_start", "period_end", "environments": {"live": {"limit",
// "remaining", "spent", "reset"}}}, or null when it has none.
Result<Json> WorkspaceCreditsJson(const RouteContext& ctx, const Workspace& ws,
                                  std::string_view only_environment = {});

void RegisterPlanRoutes(RouteTable& table);
void RegisterWorkspaceRoutes(RouteTable& table);
void RegisterKeyImportRoutes(RouteTable& table);  // before the api-keys/{id} routes
void RegisterApiKeyRoutes(RouteTable& table);
void RegisterVerifyRoutes(RouteTable& table);
void RegisterGatewayRoutes(RouteTable& table);
void RegisterAuditRoutes(RouteTable& table);
void RegisterUsageRoutes(RouteTable& table);
void RegisterUsageExportRoutes(RouteTable& table);
void RegisterOperationsRoutes(RouteTable& table);
void RegisterSessionRoutes(RouteTable& table);
void RegisterPageRoutes(RouteTable& table);
void RegisterWebhookRoutes(RouteTable& table);
void RegisterLeakRoutes(RouteTable& table);

}  // namespace keyward

#endif  // KEYWARD_SERVER_ROUTES_ROUTES_H_
