// keyward verify: checks a key as a request of the operator's API would
// (POST /v1/keys/verify), the key read from standard input. Exit 0 when it is
// valid, 1 when it is refused (the code says why).
#include <iostream>
#include <memory>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/operator_api.h"
#include "cli/output.h"

namespace keyward {
namespace {

using nlohmann::json;

struct VerifyOptions {
  std::string environment, ip, referrer, method, path;
  std::vector<std::string> scopes;
  int64_t cost = 0;
  bool json = false;
};

}  // namespace

void AddVerifyCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<VerifyOptions>();
  auto* verify = app.add_subcommand(
      "verify",
      "Check an API key, read from standard input (never from the command line), as a request "
      "would; exit 0 when valid, 1 when refused. A verification counts as a request");
  verify->add_option("--environment,-e", o->environment, "Require this environment");
  verify->add_option("--ip", o->ip, "The client's address, for the key's IP allow-list");
  verify->add_option("--referrer", o->referrer, "The request's referrer");
  verify->add_option("--method", o->method, "The request's method, for the endpoint allow-list");
  verify->add_option("--path", o->path, "The request's path, for the endpoint allow-list");
  verify->add_option("--scope", o->scopes, "A scope the request needs (repeatable)");
  auto* o_cost = verify->add_option("--cost", o->cost, "What the request costs in credits");
  AddJsonFlag(verify, &o->json);
  verify->callback([o, exit_code, o_cost] {
    auto key = ReadSecretLine("the API key", exit_code);
    if (!key) return;
    json body = {{"key", *key}};
    for (const auto& [field, value] :
         {std::pair<const char*, const std::string&>{"environment", o->environment},
          {"ip", o->ip},
          {"referrer", o->referrer},
          {"method", o->method},
          {"path", o->path}}) {
      if (!value.empty()) body[field] = value;
    }
    if (!o->scopes.empty()) body["scopes"] = o->scopes;
    if (o_cost->count()) body["cost"] = o->cost;
    auto r = ApiCall("POST", "/v1/keys/verify", body, exit_code);
    if (!r) return;
    if (o->json) {
      PrintJson(*r);
    } else {
      std::string credits = "-";
      if (r->contains("credits") && (*r)["credits"].is_object()) {
        credits.clear();
        for (const auto& [scope, c] : (*r)["credits"].items()) {
          credits += (credits.empty() ? "" : ", ") + scope + " " + Str(c, "remaining") + "/" +
                     Str(c, "limit");
        }
      }
      std::string rate = "-";
      if (r->contains("ratelimit") && (*r)["ratelimit"].is_object()) {
        rate = Str((*r)["ratelimit"], "remaining") + " of " + Str((*r)["ratelimit"], "limit") +
               ", resets in " + Str((*r)["ratelimit"], "reset") + " s";
      }
      PrintFields({
          {"valid", r->value("valid", false) ? "yes" : "no"},
          {"code", Str(*r, "code")},
          {"message", Str(*r, "message")},
          {"key_id", Str(*r, "key_id")},
          {"workspace", Str(*r, "workspace_id")},
          {"environment", Str(*r, "environment")},
          {"name", Str(*r, "name")},
          {"scopes", JoinList(*r, "scopes")},
          {"expires_at", Str(*r, "expires_at")},
          {"rate_limit", rate},
          {"credits", credits},
          {"cost", Str(*r, "cost")},
      });
    }
    *exit_code = r->value("valid", false) ? kExitOk : kExitRefused;
  });
}

}  // namespace keyward
