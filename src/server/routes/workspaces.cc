// Workspaces: create, list, read and change the operator's customers.
// Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include "core/key_service.h"
#include "server/api.h"
#include "server/auth.h"

namespace keyward {

Json WorkspaceObject(const RouteContext& ctx, const Workspace& ws) {
  auto active = ctx.service->CountActiveKeys(ws.id);
  return WorkspaceJson(ws, ctx.service->MaxActiveKeys(ws), active.ok() ? *active : 0);
}

namespace {

void CreateWorkspace(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  std::string name;
  std::optional<int64_t> max;
  if (!call.Check(f.OnlyFields({"name", "max_active_keys"})) ||
      !call.Check(f.RequiredString("name", &name)) ||
      !call.Check(f.Int("max_active_keys", 1, 100000, &max))) {
    return;
  }
  auto ws = ctx.service->CreateWorkspace(std::move(name), max, call.actor());
  if (!ws.ok()) return call.Fail(ws.status());
  call.SendJson(201, WorkspaceObject(ctx, *ws));
}

void ListWorkspaces(Call& call, const RouteContext& ctx) {
  QueryParams q;
  PageRequest page;
  if (!call.Query({"q", "cursor", "limit"}, &q) || !call.Page(q, &page)) return;
  WorkspaceFilter filter;
  for (const auto& [k, v] : q) {
    if (k == "q") filter.query = v;
  }
  if (filter.query.size() > 200) return call.Error(Code::kInvalidRequest, "q is longer than 200");
  auto list = ctx.service->ListWorkspaces(filter, page);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& ws : list->items) data.push_back(WorkspaceObject(ctx, ws));
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

void GetWorkspace(Call& call, const RouteContext& ctx) {
  // A portal session sees its own workspace only.
  if (!MayReach(call.who, call.params[0], "")) {
    return call.Error(Code::kNotFound, "no workspace " + std::string(call.params[0]));
  }
  auto ws = ctx.service->GetWorkspace(call.params[0]);
  if (!ws.ok()) return call.Fail(ws.status());
  call.SendJson(200, WorkspaceObject(ctx, *ws));
}

void UpdateWorkspace(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  WorkspaceUpdate u;
  if (!call.Check(f.OnlyFields({"name", "max_active_keys"})) ||
      !call.Check(f.String("name", &u.name)) ||
      !call.Check(f.NullableInt("max_active_keys", 1, 100000, &u.max_active_keys))) {
    return;
  }
  auto ws = ctx.service->UpdateWorkspace(call.params[0], u, call.actor());
  if (!ws.ok()) return call.Fail(ws.status());
  call.SendJson(200, WorkspaceObject(ctx, *ws));
}

}  // namespace

void RegisterWorkspaceRoutes(RouteTable& table) {
  table.Add({"POST", "/v1/workspaces", "createWorkspace", Access::kRoot, CreateWorkspace});
  table.Add({"GET", "/v1/workspaces", "listWorkspaces", Access::kRoot, ListWorkspaces});
  // A portal session reads its own workspace (its key limit); managing keys
  // do not.
  table.Add(
      {"GET", "/v1/workspaces/{id}", "getWorkspace", Access::kRoot, GetWorkspace, "keys:read"});
  table.Add({"PATCH", "/v1/workspaces/{id}", "updateWorkspace", Access::kRoot, UpdateWorkspace});
}

}  // namespace keyward
