// Browser sessions: portal sessions an operator's back end asks for (a
// one-time link for a customer), console sign-in with a root key, and the
// session a page holds (what it may do, its CSRF token, sign-out).
// Thread-safe: handlers run on any serving thread at once.
#include "core/time_format.h"
#include "core/web_sessions.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/pages.h"
#include "server/routes/routes.h"

namespace keyward {
namespace {

std::string_view PortalSessionStatus(const PortalSession& ps, Timestamp now) {
  if (ps.ended_at) return "ended";
  if (ps.code_used_at) return "opened";
  if (now >= ps.code_expires_at) return "expired";
  return "pending";
}

Json MemberJson(const PortalSession& ps) {
  if (ps.member_id.empty()) return nullptr;
  return {{"id", ps.member_id},
          {"name", ps.member_name.empty() ? Json(nullptr) : Json(ps.member_name)},
          {"email", ps.member_email.empty() ? Json(nullptr) : Json(ps.member_email)}};
}

Json PortalSessionJson(const PortalSession& ps, Timestamp now) {
  return {{"id", ps.id},
          {"workspace_id", ps.workspace_id},
          {"environment", ps.environment.empty() ? Json(nullptr) : Json(ps.environment)},
          {"permissions", ps.permissions},
          {"scopes", ps.scopes},
          {"return_url", ps.return_url.empty() ? Json(nullptr) : Json(ps.return_url)},
          {"member", MemberJson(ps)},
          {"actor", ps.actor},
          {"status", PortalSessionStatus(ps, now)},
          {"created_at", FormatRfc3339(ps.created_at)},
          {"created_by", ps.created_by},
          {"expires_at", FormatRfc3339(ps.code_expires_at)},
          {"opened_at", TimeOrNull(ps.code_used_at)},
          {"ended_at", TimeOrNull(ps.ended_at)}};
}

void CreatePortalSession(Call& call, const RouteContext& ctx) {
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::string> workspace_id, environment, return_url;
  std::optional<std::vector<std::string>> permissions, scopes;
  if (!call.Check(f.OnlyFields(
          {"workspace_id", "environment", "permissions", "scopes", "return_url", "member"})) ||
      !call.Check(f.String("workspace_id", &workspace_id)) ||
      !call.Check(f.String("environment", &environment)) ||
      !call.Check(f.StringList("permissions", &permissions)) ||
      !call.Check(f.StringList("scopes", &scopes)) ||
      !call.Check(f.String("return_url", &return_url))) {
    return;
  }
  NewPortalSession p;
  if (auto m = body->find("member"); m != body->end() && !m->is_null()) {
    if (!m->is_object()) return call.Error(Code::kInvalidRequest, "member must be an object");
    FieldReader mf(*m);
    std::optional<std::string> id, name, email;
    if (!call.Check(mf.OnlyFields({"id", "name", "email"})) ||
        !call.Check(mf.RequiredString("id", &p.member_id)) ||
        !call.Check(mf.String("name", &name)) || !call.Check(mf.String("email", &email))) {
      return;
    }
    if (p.member_id.empty()) return call.Error(Code::kInvalidRequest, "member.id is required");
    p.member_name = name.value_or("");
    p.member_email = email.value_or("");
  }
  p.workspace_id = workspace_id.value_or("");
  p.environment = environment.value_or("");
  p.permissions = std::move(permissions);
  p.return_url = return_url.value_or("");
  // Opened from the console, the page acts for the root key that opened it:
  // any scope, audited as that key.
  p.as_operator = call.who.session == "console";
  if (scopes) {
    p.scopes = std::move(*scopes);
  } else if (p.as_operator) {
    p.scopes = {"*"};
  }
  if (!p.workspace_id.empty()) {
    auto ws = ctx.service->GetWorkspace(p.workspace_id);
    if (!ws.ok()) return call.Fail(ws.status());
  }
  auto created = ctx.sessions->CreatePortalSession(std::move(p), call.actor());
  if (!created.ok()) return call.Fail(created.status());
  Json j = PortalSessionJson(created->record, ctx.service->clock().Now());
  j["url"] = ctx.options->pages.public_url + "/portal?code=" + created->code;
  call.SendJson(201, j);
}

void GetPortalSession(Call& call, const RouteContext& ctx) {
  auto ps = ctx.sessions->GetPortalSession(call.params[0]);
  if (!ps.ok()) return call.Fail(ps.status());
  call.SendJson(200, PortalSessionJson(*ps, ctx.service->clock().Now()));
}

void EndPortalSession(Call& call, const RouteContext& ctx) {
  if (Status st = ctx.sessions->EndPortalSession(call.params[0], call.actor()); !st.ok()) {
    return call.Fail(st);
  }
  GetPortalSession(call, ctx);
}

void SignInToConsole(Call& call, const RouteContext& ctx) {
  // A browser signs in from the console page only: another site cannot sign
  // a visitor in to a session of its choosing.
  if (!FromOwnOrigin(call, ctx)) return;
  auto opened = ctx.sessions->OpenConsole(call.who.actor, call.client_ip);
  if (!opened.ok()) return call.Fail(opened.status());
  SetSessionCookie(call, ctx, kConsoleCookie, opened->token);
  call.SendJson(201, {{"kind", "console"},
                      {"actor", call.who.actor},
                      {"expires_at", FormatRfc3339(opened->session.expires_at)},
                      {"csrf_token", WebSessions::CsrfToken(opened->token)}});
}

Json BrandingJson(const PageOptions& pages) {
  auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  return {{"product_name", pages.product_name},
          {"logo_url", or_null(pages.logo_url)},
          {"accent_color", or_null(pages.accent_color)},
          {"support_url", or_null(pages.support_url)}};
}

void GetSession(Call& call, const RouteContext& ctx) {
  const auto token =
      CookieValue(call.req, call.who.session == "portal" ? kPortalCookie : kConsoleCookie);
  Json j = {{"kind", call.who.session},
            {"actor", call.who.actor},
            {"csrf_token", WebSessions::CsrfToken(token.value_or(""))},
            {"branding", BrandingJson(ctx.options->pages)},
            {"key_prefix", ctx.service->format().product()}};
  j["expires_at"] = FormatRfc3339(call.who.session_expires_at);
  if (call.who.session == "console") {
    j["environments"] = ctx.service->format().environments();
    return call.SendJson(200, j);
  }
  const PortalSession* ps = &*call.who.portal;
  auto ws = ctx.service->GetWorkspace(ps->workspace_id);
  if (!ws.ok()) return call.Fail(ws.status());
  j["id"] = ps->id;
  auto workspace = WorkspaceObject(ctx, *ws, ps->environment);
  if (!workspace.ok()) return call.Fail(workspace.status());
  j["workspace"] = std::move(*workspace);
  j["environment"] = ps->environment.empty() ? Json(nullptr) : Json(ps->environment);
  j["environments"] = ps->environment.empty() ? Json(ctx.service->format().environments())
                                              : Json::array({ps->environment});
  j["permissions"] = ps->permissions;
  j["scopes"] = ps->scopes;
  j["member"] = MemberJson(*ps);
  j["return_url"] = ps->return_url.empty() ? Json(nullptr) : Json(ps->return_url);
  call.SendJson(200, j);
}

void SignOut(Call& call, const RouteContext& ctx) {
  const char* cookie = call.who.session == "portal" ? kPortalCookie : kConsoleCookie;
  const auto token = CookieValue(call.req, cookie);
  if (Status st = ctx.sessions->SignOut(token.value_or(""), call.actor()); !st.ok()) {
    return call.Fail(st);
  }
  ClearSessionCookie(call, ctx, cookie);
  call.Send(204, "");
  call.reply.response.content_type.clear();
}

}  // namespace

void RegisterSessionRoutes(RouteTable& table) {
  table.Add(
      {"POST", "/v1/portal-sessions", "createPortalSession", Access::kRoot, CreatePortalSession});
  table.Add(
      {"GET", "/v1/portal-sessions/{id}", "getPortalSession", Access::kRoot, GetPortalSession});
  table.Add(
      {"DELETE", "/v1/portal-sessions/{id}", "endPortalSession", Access::kRoot, EndPortalSession});
  table.Add(
      {"POST", "/v1/console-sessions", "createConsoleSession", Access::kRootKey, SignInToConsole});
  table.Add({"GET", "/v1/session", "getSession", Access::kSession, GetSession});
  table.Add({"DELETE", "/v1/session", "endSession", Access::kSession, SignOut});
}

}  // namespace keyward
