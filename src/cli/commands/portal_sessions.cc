// keyward portal-sessions create | show | end: one-time links to the hosted
// key page (/portal) for a customer's workspace. The link is a credential
// until it is opened: it is printed once, to stdout alone.
#include <iostream>
#include <memory>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/operator_api.h"
#include "cli/output.h"

namespace keyward {
namespace {

using nlohmann::json;

struct PortalOptions {
  std::string id, workspace, environment, return_url, member_id, member_name, member_email;
  std::vector<std::string> permissions, scopes;
  bool json = false;
};

void PrintSession(const json& s) {
  PrintFields({
      {"id", Str(s, "id")},
      {"workspace", Str(s, "workspace_id")},
      {"environment", Str(s, "environment")},
      {"permissions", JoinList(s, "permissions")},
      {"scopes", JoinList(s, "scopes")},
      {"member", s.contains("member") && s["member"].is_object() ? Str(s["member"], "id") : "-"},
      {"status", Str(s, "status")},
      {"expires_at", Str(s, "expires_at")},
      {"opened_at", Str(s, "opened_at")},
      {"ended_at", Str(s, "ended_at")},
  });
}

std::string SessionPath(const std::string& id) { return "/v1/portal-sessions/" + UrlEncode(id); }

}  // namespace

void AddPortalSessionCommands(CLI::App& app, int* exit_code) {
  auto* ps = app.add_subcommand("portal-sessions",
                                "One-time links to the hosted key page for a customer's workspace");
  ps->require_subcommand(1);

  auto o = std::make_shared<PortalOptions>();
  auto* create = ps->add_subcommand(
      "create", "Make a link for a workspace; prints the URL alone (it works once)");
  create->add_option("--workspace,-w", o->workspace, "The workspace's id (ws_…)")->required();
  create->add_option("--environment,-e", o->environment, "Only this environment's keys");
  create->add_option("--permission", o->permissions,
                     "keys:read, keys:create, keys:rotate, keys:revoke or usage:read "
                     "(repeatable; default: all)");
  create->add_option("--scope", o->scopes, "A scope keys made on the page may carry (repeatable)");
  create->add_option("--return-url", o->return_url, "Where the page's back link goes");
  create->add_option("--member-id", o->member_id, "Who the link is for, for the audit log");
  create->add_option("--member-name", o->member_name, "Their name");
  create->add_option("--member-email", o->member_email, "Their email");
  AddJsonFlag(create, &o->json);
  create->callback([o, exit_code] {
    json body = {{"workspace_id", o->workspace}};
    if (!o->environment.empty()) body["environment"] = o->environment;
    if (!o->permissions.empty()) body["permissions"] = o->permissions;
    if (!o->scopes.empty()) body["scopes"] = o->scopes;
    if (!o->return_url.empty()) body["return_url"] = o->return_url;
    if (!o->member_id.empty()) {
      body["member"] = {{"id", o->member_id}};
      if (!o->member_name.empty()) body["member"]["name"] = o->member_name;
      if (!o->member_email.empty()) body["member"]["email"] = o->member_email;
    }
    auto s = ApiCall("POST", "/v1/portal-sessions", body, exit_code);
    if (!s) return;
    if (o->json) return PrintJson(*s);
    std::cout << Str(*s, "url") << "\n";
    std::cerr << "keyward: portal session " << Str(*s, "id") << "; the link works once, until "
              << Str(*s, "expires_at") << "\n";
  });

  o = std::make_shared<PortalOptions>();
  auto* show = ps->add_subcommand("show", "Show a portal session");
  show->add_option("id", o->id, "The session's id (ps_…)")->required();
  AddJsonFlag(show, &o->json);
  show->callback([o, exit_code] {
    PrintAnswer(ApiCall("GET", SessionPath(o->id), nullptr, exit_code), o->json, PrintSession);
  });

  o = std::make_shared<PortalOptions>();
  auto* end = ps->add_subcommand("end", "Withdraw a link and sign its browsers out");
  end->add_option("id", o->id, "The session's id (ps_…)")->required();
  AddJsonFlag(end, &o->json);
  end->callback([o, exit_code] {
    PrintAnswer(ApiCall("DELETE", SessionPath(o->id), nullptr, exit_code), o->json, PrintSession);
  });
}

}  // namespace keyward
