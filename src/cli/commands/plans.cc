// keyward plans create | list | show | update: what a workspace on a plan
// gets (credits per period, a rate limit, a key limit, what endpoints cost).
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

struct PlanOptions {
  std::string id, name, rate_limit;
  int64_t monthly_credits = 0, max_active_keys = 0;
  std::vector<std::string> costs, clear;
  bool json = false;
  CLI::Option *o_name = nullptr, *o_credits = nullptr, *o_rate = nullptr, *o_max = nullptr,
              *o_costs = nullptr;
};

std::string CostsText(const json& p) {
  if (!p.contains("costs") || !p["costs"].is_object() || p["costs"].empty()) return "-";
  std::string text;
  for (const auto& [rule, cost] : p["costs"].items()) {
    text += (text.empty() ? "" : ", ") + rule + "=" + cost.dump();
  }
  return text;
}

void PrintPlan(const json& p) {
  PrintFields({
      {"id", Str(p, "id")},
      {"name", Str(p, "name")},
      {"monthly_credits", Str(p, "monthly_credits")},
      {"rate_limit", RateLimitText(p, "rate_limit")},
      {"max_active_keys", Str(p, "max_active_keys")},
      {"costs", CostsText(p)},
      {"source", Str(p, "source")},
      {"updated_at", Str(p, "updated_at")},
  });
}

void AddSettableOptions(CLI::App* cmd, PlanOptions& o, bool name_required) {
  o.o_name = cmd->add_option("--name", o.name, "The plan's name, e.g. pro");
  if (name_required) o.o_name->required();
  o.o_credits = cmd->add_option("--monthly-credits", o.monthly_credits,
                                "Credits per billing period for its workspaces");
  o.o_rate = cmd->add_option("--rate-limit", o.rate_limit, "LIMIT/SECONDS, e.g. 100/60, or none");
  o.o_max = cmd->add_option("--max-active-keys", o.max_active_keys,
                            "Keys a workspace may have active at once");
  o.o_costs = cmd->add_option("--cost", o.costs,
                              "What an endpoint costs, e.g. \"POST /v1/search=5\" (repeatable; "
                              "on update, replaces every rule)");
}

bool SettableFields(const PlanOptions& o, json* body, int* exit_code) {
  if (o.o_name->count()) (*body)["name"] = o.name;
  if (o.o_credits->count()) (*body)["monthly_credits"] = o.monthly_credits;
  if (o.o_max->count()) (*body)["max_active_keys"] = o.max_active_keys;
  if (o.o_rate->count()) {
    auto rate = ParseRateLimitArg(o.rate_limit, exit_code);
    if (!rate) return false;
    (*body)["rate_limit"] = *rate;
  }
  if (o.o_costs->count()) {
    json costs = json::object();
    for (const auto& c : o.costs) {
      if (!AddCostRule(c, &costs, exit_code)) return false;
    }
    (*body)["costs"] = costs;
  }
  return true;
}

}  // namespace

void AddPlanCommands(CLI::App& app, int* exit_code) {
  auto* plans = app.add_subcommand("plans", "Manage plans: what the workspaces on them get");
  plans->require_subcommand(1);

  auto o = std::make_shared<PlanOptions>();
  auto* create = plans->add_subcommand("create", "Create a plan; prints its id");
  AddSettableOptions(create, *o, true);
  AddJsonFlag(create, &o->json);
  create->callback([o, exit_code] {
    json body = json::object();
    if (!SettableFields(*o, &body, exit_code)) return;
    auto p = ApiCall("POST", "/v1/plans", body, exit_code);
    if (!p) return;
    if (o->json) return PrintJson(*p);
    std::cout << Str(*p, "id") << "\n";
  });

  o = std::make_shared<PlanOptions>();
  auto* list = plans->add_subcommand("list", "List every plan");
  AddJsonFlag(list, &o->json);
  list->callback([o, exit_code] {
    auto page = ApiCall("GET", "/v1/plans", nullptr, exit_code);  // one page: every plan
    if (!page) return;
    const json all = std::move((*page)["data"]);
    if (o->json) return PrintJson(all);
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : all) {
      rows.push_back({Str(p, "id"), Str(p, "name"), Str(p, "monthly_credits"),
                      RateLimitText(p, "rate_limit"), Str(p, "max_active_keys"), Str(p, "source")});
    }
    PrintTable({"ID", "NAME", "MONTHLY CREDITS", "RATE LIMIT", "MAX KEYS", "SOURCE"}, rows);
  });

  o = std::make_shared<PlanOptions>();
  auto* show = plans->add_subcommand("show", "Show one plan");
  show->add_option("id", o->id, "The plan's id (plan_…)")->required();
  AddJsonFlag(show, &o->json);
  show->callback([o, exit_code] {
    PrintAnswer(ApiCall("GET", "/v1/plans/" + UrlEncode(o->id), nullptr, exit_code), o->json,
                PrintPlan);
  });

  o = std::make_shared<PlanOptions>();
  auto* update =
      plans->add_subcommand("update", "Change a plan made through the API: only the options given");
  update->add_option("id", o->id, "The plan's id (plan_…)")->required();
  AddSettableOptions(update, *o, false);
  AddClearOption(update, &o->clear, {"monthly_credits", "rate_limit", "max_active_keys"});
  AddJsonFlag(update, &o->json);
  update->callback([o, exit_code] {
    json body = json::object();
    if (!SettableFields(*o, &body, exit_code)) return;
    ApplyClears(o->clear, &body);
    if (body.empty()) {
      std::cerr << "keyward: nothing to change (see keyward plans update --help)\n";
      *exit_code = kExitUsage;
      return;
    }
    PrintAnswer(ApiCall("PATCH", "/v1/plans/" + UrlEncode(o->id), body, exit_code), o->json,
                PrintPlan);
  });
}

}  // namespace keyward
