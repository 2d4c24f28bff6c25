#include "server/routes/routes.h"

namespace keyward {

RouteTable AllRoutes() {
  RouteTable table;
  RegisterPlanRoutes(table);
  RegisterWorkspaceRoutes(table);
  RegisterApiKeyRoutes(table);
  RegisterVerifyRoutes(table);
  RegisterGatewayRoutes(table);
  RegisterAuditRoutes(table);
  RegisterUsageRoutes(table);
  RegisterUsageExportRoutes(table);
  RegisterOperationsRoutes(table);
  RegisterSessionRoutes(table);
  RegisterPageRoutes(table);
  return table;
}

}  // namespace keyward
