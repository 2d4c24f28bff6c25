#include "server/routes/routes.h"

namespace keyward {

RouteTable AllRoutes() {
  RouteTable table;
  RegisterPlanRoutes(table);
  RegisterWorkspaceRoutes(table);
  RegisterKeyImportRoutes(table);  // "/v1/api-keys/export" before "/v1/api-keys/{id}"
  RegisterApiKeyRoutes(table);
  RegisterVerifyRoutes(table);
  RegisterGatewayRoutes(table);
  RegisterAuditRoutes(table);
  RegisterUsageRoutes(table);
  RegisterUsageExportRoutes(table);
  RegisterOperationsRoutes(table);
  RegisterSessionRoutes(table);
  RegisterPageRoutes(table);
  RegisterWebhookRoutes(table);
  RegisterLeakRoutes(table);
  return table;
}

}  // namespace keyward
