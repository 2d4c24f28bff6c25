// keyward workspaces create | list | show | update: a customer's account and
// its limits (PATCH sets only the options given; --clear sets one back to
// the plan's or the deployment's).
#include <iostream>
#include <memory>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/operator_api.h"
#include "cli/output.h"

namespace keyward {
namespace {

using nlohmann::json;

struct WorkspaceOptions {
  std::string id, name, plan, rate_limit, query;
  int64_t max_active_keys = 0, monthly_credits = 0, anchor_day = 0, rotate_after_days = 0;
  std::vector<std::string> clear;
  size_t max = 0;
  bool json = false;
  CLI::Option *o_name = nullptr, *o_max = nullptr, *o_plan = nullptr, *o_credits = nullptr,
              *o_rate = nullptr, *o_anchor = nullptr, *o_rotate = nullptr;
};

void PrintWorkspace(const json& w) {
  std::string credits = "-";
  if (w.contains("credits") && w["credits"].is_object()) {
    credits.clear();
    for (const auto& [env, c] : w["credits"]["environments"].items()) {
      credits += (credits.empty() ? "" : ", ") + env + " " + Str(c, "remaining") + "/" +
                 Str(c, "limit") + " until " + Str(c, "reset");
    }
  }
  PrintFields({
      {"id", Str(w, "id")},
      {"name", Str(w, "name")},
      {"plan", Str(w, "plan_id")},
      {"active_keys", Str(w, "active_keys") + " of " + Str(w, "max_active_keys")},
      {"monthly_credits", Str(w, "monthly_credits")},
      {"credits_left", credits},
      {"rate_limit", RateLimitText(w, "rate_limit")},
      {"billing_anchor_day", Str(w, "billing_anchor_day")},
      {"rotate_after_days", Str(w, "rotate_after_days")},
      {"created_at", Str(w, "created_at")},
  });
}

// The settable fields given on the command line, into body.
bool SettableFields(const WorkspaceOptions& o, json* body, int* exit_code) {
  if (o.o_name->count()) (*body)["name"] = o.name;
  if (o.o_max->count()) (*body)["max_active_keys"] = o.max_active_keys;
  if (o.o_plan->count()) (*body)["plan_id"] = o.plan == "none" ? json(nullptr) : json(o.plan);
  if (o.o_credits->count()) (*body)["monthly_credits"] = o.monthly_credits;
  if (o.o_anchor->count()) (*body)["billing_anchor_day"] = o.anchor_day;
  if (o.o_rotate->count()) (*body)["rotate_after_days"] = o.rotate_after_days;
  if (o.o_rate->count()) {
    auto rate = ParseRateLimitArg(o.rate_limit, exit_code);
    if (!rate) return false;
    (*body)["rate_limit"] = *rate;
  }
  return true;
}

void AddSettableOptions(CLI::App* cmd, WorkspaceOptions& o, bool name_required) {
  o.o_name = cmd->add_option("--name", o.name, "The workspace's name, e.g. the customer's");
  if (name_required) o.o_name->required();
  o.o_max = cmd->add_option("--max-active-keys", o.max_active_keys,
                            "Keys that may be active at once (default: the plan's or the "
                            "deployment's)");
  o.o_plan = cmd->add_option("--plan", o.plan, "A plan's id (plan_…), or none");
  o.o_credits =
      cmd->add_option("--monthly-credits", o.monthly_credits, "Credits per billing period");
  o.o_rate = cmd->add_option("--rate-limit", o.rate_limit,
                             "LIMIT/SECONDS for keys without their own, e.g. 100/60, or none");
  o.o_anchor = cmd->add_option("--billing-anchor-day", o.anchor_day,
                               "Day of the month (1-31) a billing period starts");
  o.o_rotate = cmd->add_option("--rotate-after-days", o.rotate_after_days,
                               "Keys older than this are due for rotation");
}

}  // namespace

void AddWorkspaceCommands(CLI::App& app, int* exit_code) {
  auto* ws = app.add_subcommand("workspaces", "Manage workspaces: your customers' accounts");
  ws->require_subcommand(1);
  // Each command's options are its own (its callback holds them).
  std::shared_ptr<WorkspaceOptions> o;

  o = std::make_shared<WorkspaceOptions>();
  auto* create = ws->add_subcommand("create", "Create a workspace; prints its id");
  AddSettableOptions(create, *o, true);
  AddJsonFlag(create, &o->json);
  create->callback([o, exit_code] {
    json body = json::object();
    if (!SettableFields(*o, &body, exit_code)) return;
    auto w = ApiCall("POST", "/v1/workspaces", body, exit_code);
    if (!w) return;
    if (o->json) return PrintJson(*w);
    std::cout << Str(*w, "id") << "\n";
  });

  o = std::make_shared<WorkspaceOptions>();
  auto* list = ws->add_subcommand("list", "List workspaces (every page)");
  list->add_option("--query,-q", o->query, "Only those whose name or id holds this");
  list->add_option("--max", o->max, "At most this many (default: all)");
  AddJsonFlag(list, &o->json);
  list->callback([o, exit_code] {
    auto all = ApiList("/v1/workspaces", QueryParam("q", o->query), o->max, exit_code);
    if (!all) return;
    if (o->json) return PrintJson(*all);
    std::vector<std::vector<std::string>> rows;
    for (const auto& w : *all) {
      rows.push_back({Str(w, "id"), Str(w, "name"), Str(w, "plan_id"),
                      Str(w, "active_keys") + "/" + Str(w, "max_active_keys"),
                      Str(w, "created_at")});
    }
    PrintTable({"ID", "NAME", "PLAN", "ACTIVE KEYS", "CREATED"}, rows);
  });

  o = std::make_shared<WorkspaceOptions>();
  auto* show = ws->add_subcommand("show", "Show one workspace, its limits and credits");
  show->add_option("id", o->id, "The workspace's id (ws_…)")->required();
  AddJsonFlag(show, &o->json);
  show->callback([o, exit_code] {
    PrintAnswer(ApiCall("GET", "/v1/workspaces/" + UrlEncode(o->id), nullptr, exit_code), o->json,
                PrintWorkspace);
  });

  o = std::make_shared<WorkspaceOptions>();
  auto* update = ws->add_subcommand("update", "Change a workspace: only the options given");
  update->add_option("id", o->id, "The workspace's id (ws_…)")->required();
  AddSettableOptions(update, *o, false);
  AddClearOption(update, &o->clear,
                 {"max_active_keys", "plan_id", "monthly_credits", "rate_limit",
                  "billing_anchor_day", "rotate_after_days"});
  AddJsonFlag(update, &o->json);
  update->callback([o, exit_code] {
    json body = json::object();
    if (!SettableFields(*o, &body, exit_code)) return;
    ApplyClears(o->clear, &body);
    if (body.empty()) {
      std::cerr << "keyward: nothing to change; give an option such as --name or --clear "
                   "(see keyward workspaces update --help)\n";
      *exit_code = kExitUsage;
      return;
    }
    PrintAnswer(ApiCall("PATCH", "/v1/workspaces/" + UrlEncode(o->id), body, exit_code), o->json,
                PrintWorkspace);
  });
}

}  // namespace keyward
