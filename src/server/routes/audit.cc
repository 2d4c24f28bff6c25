// The audit log: who changed what, when, from where.
// Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include "core/key_service.h"
#include "server/api.h"
#include "server/auth.h"

namespace keyward {
namespace {

void AuditLog(Call& call, const RouteContext& ctx) {
  QueryParams q;
  PageRequest page;
  if (!call.Query({"workspace_id", "target", "actor", "action", "cursor", "limit"}, &q) ||
      !call.Page(q, &page))
    return;
  AuditFilter filter;
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") filter.workspace_id = v;
    if (k == "target") filter.target = v;
    if (k == "actor") filter.actor = v;
    if (k == "action") filter.action = v;
  }
  auto list = ctx.service->ListAudit(filter, page);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& e : list->items) data.push_back(AuditJson(e));
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

}  // namespace

void RegisterAuditRoutes(RouteTable& table) {
  table.Add({"GET", "/v1/audit-log", "listAuditLog", Access::kRoot, AuditLog});
}

}  // namespace keyward
