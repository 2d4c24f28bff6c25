// keyward keys create | list | show | update | enable | disable | rotate |
// revoke: API keys. The secret of a new key is printed once, and is never
// read from the command line.
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

struct KeyOptions {
  std::string id, workspace, environment, name, expires_at, meta, rate_limit, status, reason,
      refill;
  std::vector<std::string> scopes, ips, referrers, endpoints, clear;
  int64_t credits = 0, grace = 0;
  size_t max = 0;
  bool json = false, quiet = false, rotation_due = false;
  CLI::Option *o_name = nullptr, *o_scopes = nullptr, *o_ips = nullptr, *o_referrers = nullptr,
              *o_endpoints = nullptr, *o_rate = nullptr, *o_expires = nullptr, *o_meta = nullptr,
              *o_credits = nullptr, *o_refill = nullptr;
};

// "active", and "active (rotation due)" past its workspace's rotation policy.
std::string KeyStatusText(const json& k) {
  return Str(k, "status") + (k.value("rotation_due", false) ? " (rotation due)" : "");
}

std::string CreditsText(const json& k) {
  if (!k.contains("credits") || !k["credits"].is_object()) return "-";
  const json& c = k["credits"];
  std::string text = Str(c, "remaining") + " left";
  if (c.contains("refill") && c["refill"].is_object()) {
    text += ", " + Str(c["refill"], "amount") + " " + Str(c["refill"], "interval");
  }
  return text;
}

void PrintKey(const json& k) {
  PrintFields({
      {"id", Str(k, "id")},
      {"short_prefix", Str(k, "short_prefix")},
      {"name", Str(k, "name")},
      {"workspace", Str(k, "workspace_id")},
      {"environment", Str(k, "environment")},
      {"status", KeyStatusText(k)},
      {"scopes", JoinList(k, "scopes")},
      {"ip_allowlist", JoinList(k, "ip_allowlist")},
      {"referrer_allowlist", JoinList(k, "referrer_allowlist")},
      {"endpoint_allowlist", JoinList(k, "endpoint_allowlist")},
      {"rate_limit", RateLimitText(k, "rate_limit")},
      {"credits", CreditsText(k)},
      {"meta", Str(k, "meta")},
      {"created_at", Str(k, "created_at")},
      {"expires_at", Str(k, "expires_at")},
      {"last_used_at", Str(k, "last_used_at")},
      {"revoked_at", Str(k, "revoked_at")},
  });
}

void PrintSecret(const json& k) {
  std::cout << "\n  " << Str(k, "key") << "\n\n"
            << "This is the only time the key is shown. Store it in a secrets manager now.\n";
}

// The restrictions and settings both create and update take.
void AddSettableOptions(CLI::App* cmd, KeyOptions& o) {
  o.o_scopes = cmd->add_option("--scope", o.scopes, "A scope, e.g. orders:read (repeatable)");
  o.o_ips = cmd->add_option("--ip", o.ips, "An allowed client address or CIDR (repeatable)");
  o.o_referrers =
      cmd->add_option("--referrer", o.referrers, "An allowed referrer pattern (repeatable)");
  o.o_endpoints = cmd->add_option("--endpoint", o.endpoints,
                                  "An allowed endpoint, e.g. \"GET /v1/products/*\" (repeatable)");
  o.o_rate = cmd->add_option("--rate-limit", o.rate_limit, "LIMIT/SECONDS, e.g. 100/60, or none");
  o.o_expires = cmd->add_option("--expires-at", o.expires_at, "When it stops working (RFC 3339)");
  o.o_meta = cmd->add_option("--meta", o.meta, "A JSON object kept with the key");
  o.o_credits = cmd->add_option("--credits", o.credits, "The key's own credits (remaining)");
  o.o_refill = cmd->add_option("--refill", o.refill,
                               "How its credits refill: 1000/daily, 1000/monthly[/DAY], or none");
}

bool SettableFields(const KeyOptions& o, json* body, int* exit_code) {
  if (o.o_scopes->count()) (*body)["scopes"] = o.scopes;
  if (o.o_ips->count()) (*body)["ip_allowlist"] = o.ips;
  if (o.o_referrers->count()) (*body)["referrer_allowlist"] = o.referrers;
  if (o.o_endpoints->count()) (*body)["endpoint_allowlist"] = o.endpoints;
  if (o.o_expires->count()) (*body)["expires_at"] = o.expires_at;
  if (o.o_rate->count()) {
    auto rate = ParseRateLimitArg(o.rate_limit, exit_code);
    if (!rate) return false;
    (*body)["rate_limit"] = *rate;
  }
  if (o.o_meta->count()) {
    auto meta = ParseObjectArg("--meta", o.meta, exit_code);
    if (!meta) return false;
    (*body)["meta"] = *meta;
  }
  if (o.o_refill->count() && !o.o_credits->count()) {
    std::cerr << "keyward: --refill goes with --credits (the credits the key starts with)\n";
    *exit_code = kExitUsage;
    return false;
  }
  if (o.o_credits->count()) {
    json credits = {{"remaining", o.credits}};
    if (o.o_refill->count()) {
      auto refill = ParseRefillArg(o.refill, exit_code);
      if (!refill) return false;
      credits["refill"] = *refill;
    }
    (*body)["credits"] = credits;
  }
  return true;
}

void Patch(const KeyOptions& o, const json& body, int* exit_code) {
  PrintAnswer(ApiCall("PATCH", "/v1/api-keys/" + UrlEncode(o.id), body, exit_code), o.json,
              PrintKey);
}

}  // namespace

void AddKeyCommands(CLI::App& app, int* exit_code) {
  auto* keys = app.add_subcommand("keys", "Manage API keys");
  keys->require_subcommand(1);
  // Each command's options are its own (its callback holds them).
  std::shared_ptr<KeyOptions> o;

  o = std::make_shared<KeyOptions>();
  auto* create = keys->add_subcommand("create", "Create an API key; its secret is shown once");
  create->add_option("--workspace,-w", o->workspace, "The workspace's id (ws_…)")->required();
  create->add_option("--environment,-e", o->environment, "Its environment, e.g. live or test")
      ->required();
  create->add_option("--name,-n", o->name, "What it is for, e.g. production-server")->required();
  AddSettableOptions(create, *o);
  AddJsonFlag(create, &o->json);
  create->add_flag("--quiet,-q", o->quiet, "Print only the key");
  create->callback([o, exit_code] {
    json body = {
        {"workspace_id", o->workspace}, {"environment", o->environment}, {"name", o->name}};
    if (!SettableFields(*o, &body, exit_code)) return;
    auto k = ApiCall("POST", "/v1/api-keys", body, exit_code);
    if (!k) return;
    if (o->json) return PrintJson(*k);
    if (o->quiet) {
      std::cout << Str(*k, "key") << "\n";
      return;
    }
    PrintKey(*k);
    PrintSecret(*k);
  });

  o = std::make_shared<KeyOptions>();
  auto* list = keys->add_subcommand("list", "List API keys (every page)");
  list->add_option("--workspace,-w", o->workspace, "Only this workspace's");
  list->add_option("--environment,-e", o->environment, "Only this environment's");
  list->add_option("--status", o->status, "Only active, revoked, expired or disabled ones")
      ->check(CLI::IsMember({"active", "revoked", "expired", "disabled"}));
  list->add_flag("--rotation-due", o->rotation_due,
                 "Only keys due for rotation by their workspace's policy");
  list->add_option("--max", o->max, "At most this many (default: all)");
  AddJsonFlag(list, &o->json);
  list->callback([o, exit_code] {
    std::string q = QueryParam("workspace_id", o->workspace) +
                    QueryParam("environment", o->environment) + QueryParam("status", o->status) +
                    QueryParam("rotation_due", o->rotation_due ? "true" : "");
    auto all = ApiList("/v1/api-keys", q, o->max, exit_code);
    if (!all) return;
    if (o->json) return PrintJson(*all);
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : *all) {
      rows.push_back({Str(k, "id"), Str(k, "short_prefix"), Str(k, "name"), Str(k, "environment"),
                      KeyStatusText(k), Str(k, "last_used_at"), Str(k, "created_at")});
    }
    PrintTable({"ID", "PREFIX", "NAME", "ENV", "STATUS", "LAST USED", "CREATED"}, rows);
  });

  o = std::make_shared<KeyOptions>();
  auto* show = keys->add_subcommand("show", "Show one API key (never its secret)");
  show->add_option("id", o->id, "The key's id (key_…)")->required();
  AddJsonFlag(show, &o->json);
  show->callback([o, exit_code] {
    PrintAnswer(ApiCall("GET", "/v1/api-keys/" + UrlEncode(o->id), nullptr, exit_code), o->json,
                PrintKey);
  });

  o = std::make_shared<KeyOptions>();
  auto* update = keys->add_subcommand(
      "update", "Change an API key: only the options given; a list option replaces the list");
  update->add_option("id", o->id, "The key's id (key_…)")->required();
  o->o_name = update->add_option("--name,-n", o->name, "A new name");
  AddSettableOptions(update, *o);
  AddClearOption(update, &o->clear,
                 {"scopes", "ip_allowlist", "referrer_allowlist", "endpoint_allowlist",
                  "rate_limit", "credits", "expires_at", "meta"});
  AddJsonFlag(update, &o->json);
  update->callback([o, exit_code] {
    json body = json::object();
    if (o->o_name->count()) body["name"] = o->name;
    if (!SettableFields(*o, &body, exit_code)) return;
    ApplyClears(o->clear, &body);
    if (body.empty()) {
      std::cerr << "keyward: nothing to change; give an option such as --name, --scope or "
                   "--clear (see keyward keys update --help)\n";
      *exit_code = kExitUsage;
      return;
    }
    Patch(*o, body, exit_code);
  });

  for (const bool enable : {true, false}) {
    o = std::make_shared<KeyOptions>();
    auto* cmd =
        keys->add_subcommand(enable ? "enable" : "disable",
                             enable ? "Let a disabled API key work again (it needs a free slot)"
                                    : "Stop an API key from working until it is enabled again");
    cmd->add_option("id", o->id, "The key's id (key_…)")->required();
    AddJsonFlag(cmd, &o->json);
    cmd->callback([o, exit_code, enable] { Patch(*o, json{{"enabled", enable}}, exit_code); });
  }

  o = std::make_shared<KeyOptions>();
  auto* rotate = keys->add_subcommand(
      "rotate", "Replace an API key with a new one; the old one works for --grace seconds");
  rotate->add_option("id", o->id, "The key's id (key_…)")->required();
  rotate->add_option("--grace", o->grace,
                     "Seconds the old key keeps working, 0-2592000 (default 0)");
  auto* o_rot_expires = rotate->add_option("--expires-at", o->expires_at,
                                           "When the new key stops working (default: the old "
                                           "one's)");
  AddJsonFlag(rotate, &o->json);
  rotate->add_flag("--quiet,-q", o->quiet, "Print only the new key");
  rotate->callback([o, exit_code, o_rot_expires] {
    json body = {{"grace_seconds", o->grace}};
    if (o_rot_expires->count()) body["expires_at"] = o->expires_at;
    auto k = ApiCall("POST", "/v1/api-keys/" + UrlEncode(o->id) + "/rotate", body, exit_code);
    if (!k) return;
    if (o->json) return PrintJson(*k);
    if (o->quiet) {
      std::cout << Str(*k, "key") << "\n";
      return;
    }
    PrintKey(*k);
    std::cout << "old key " << Str((*k)["old_key"], "id") << " works until "
              << Str((*k)["old_key"], "expires_at") << "\n";
    PrintSecret(*k);
  });

  o = std::make_shared<KeyOptions>();
  auto* revoke = keys->add_subcommand("revoke", "Revoke an API key, now and for good");
  revoke->add_option("id", o->id, "The key's id (key_…)")->required();
  revoke->add_option("--reason", o->reason, "Why, for the audit log");
  AddJsonFlag(revoke, &o->json);
  revoke->callback([o, exit_code] {
    json body = json::object();
    if (!o->reason.empty()) body["reason"] = o->reason;
    auto r = ApiCall("DELETE", "/v1/api-keys/" + UrlEncode(o->id), body, exit_code);
    if (!r) return;
    if (o->json) return PrintJson(*r);
    std::cout << "revoked " << Str(*r, "id") << " at " << Str(*r, "revoked_at") << "\n";
  });
}

}  // namespace keyward
