// keyward audit-log: who changed what and when, newest first (GET
// /v1/audit-log), filtered by workspace, target, actor or action.
#include <iostream>
#include <memory>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/operator_api.h"
#include "cli/output.h"

namespace keyward {
namespace {

struct AuditOptions {
  std::string workspace, target, actor, action;
  size_t max = 50;
  bool json = false;
};

}  // namespace

void AddAuditLogCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<AuditOptions>();
  auto* audit = app.add_subcommand("audit-log", "Who changed what and when, newest first");
  audit->add_option("--workspace,-w", o->workspace, "Only changes in this workspace");
  audit->add_option("--target", o->target, "Only changes to this object (key_…, ws_…, rk_…)");
  audit->add_option("--actor", o->actor, "Only changes by this actor (rk_…, key_…, cli, …)");
  audit->add_option("--action", o->action, "Only this action, e.g. key.revoke");
  audit->add_option("--max", o->max, "At most this many (default 50; 0: all)");
  AddJsonFlag(audit, &o->json);
  audit->callback([o, exit_code] {
    const std::string q = QueryParam("workspace_id", o->workspace) +
                          QueryParam("target", o->target) + QueryParam("actor", o->actor) +
                          QueryParam("action", o->action);
    auto all = ApiList("/v1/audit-log", q, o->max, exit_code);
    if (!all) return;
    if (o->json) return PrintJson(*all);
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : *all) {
      rows.push_back({Str(e, "at"), Str(e, "actor"), Str(e, "action"), Str(e, "target"),
                      Str(e, "workspace_id"), Str(e, "ip")});
    }
    PrintTable({"AT", "ACTOR", "ACTION", "TARGET", "WORKSPACE", "IP"}, rows);
  });
}

}  // namespace keyward
