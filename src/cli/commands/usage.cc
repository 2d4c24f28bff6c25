// keyward usage: a workspace's (or one key's) requests and credits per
// minute, hour, day or month; keyward usage export: per key and day, for
// billing, streamed to a file (cli/usage_export.h).
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/operator_api.h"
#include "cli/output.h"
#include "cli/usage_export.h"

namespace keyward {
namespace {

using nlohmann::json;

struct UsageOptions {
  std::string workspace, key, environment, from, to, granularity;
  bool json = false;
};

std::string ByCodeText(const json& bucket) {
  if (!bucket.contains("by_code") || !bucket["by_code"].is_object()) return "-";
  std::string text;
  for (const auto& [code, n] : bucket["by_code"].items()) {
    if (code == "valid") continue;
    text += (text.empty() ? "" : ",") + code + "=" + n.dump();
  }
  return text.empty() ? "-" : text;
}

}  // namespace

void AddUsageCommands(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<UsageOptions>();
  auto* usage = app.add_subcommand(
      "usage",
      "Requests and credits of a workspace or one key, per minute, hour, day or month; "
      "`usage export` for billing");
  usage->require_subcommand(0, 1);
  usage->add_option("--workspace,-w", o->workspace, "The workspace's id (ws_…)");
  usage->add_option("--key", o->key, "Only this key's (key_…)");
  usage->add_option("--environment,-e", o->environment, "Only this environment's");
  usage->add_option("--from", o->from, "Start, YYYY-MM-DD or RFC 3339 (default: one span back)");
  usage->add_option("--to", o->to, "End, YYYY-MM-DD or RFC 3339 (default: now)");
  usage->add_option("--granularity,-g", o->granularity, "minute, hour (default), day or month")
      ->check(CLI::IsMember({"minute", "hour", "day", "month"}));
  AddJsonFlag(usage, &o->json);
  usage->callback([usage, o, exit_code] {
    if (!usage->get_subcommands().empty()) return;  // `usage export` ran
    if (o->workspace.empty() && o->key.empty()) {
      std::cerr << "keyward usage: give --workspace (ws_…) or --key (key_…)\n";
      *exit_code = kExitUsage;
      return;
    }
    std::string q = QueryParam("workspace_id", o->workspace) + QueryParam("key_id", o->key) +
                    QueryParam("environment", o->environment) + QueryParam("from", o->from) +
                    QueryParam("to", o->to) + QueryParam("granularity", o->granularity);
    if (!q.empty()) q[0] = '?';
    auto r = ApiCall("GET", "/v1/usage" + q, nullptr, exit_code);
    if (!r) return;
    if (o->json) return PrintJson(*r);
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : (*r)["data"]) {
      if (b.value("total", 0) == 0) continue;
      rows.push_back(
          {Str(b, "start"), Str(b, "valid"), Str(b, "refused"), Str(b, "credits"), ByCodeText(b)});
    }
    std::cout << Str(*r, "granularity") << "s from " << Str(*r, "from") << " to " << Str(*r, "to")
              << " (empty ones left out)\n";
    PrintTable({"START", "VALID", "REFUSED", "CREDITS", "REFUSED BY CODE"}, rows);
    std::cout << "total: " << Str(*r, "valid") << " valid of " << Str(*r, "total") << " requests, "
              << Str(*r, "credits") << " credits\n";
  });

  auto ux = std::make_shared<UsageExportOptions>();
  auto* u_export = usage->add_subcommand(
      "export",
      "Export usage per key and day (CSV or JSON), streamed to --output (written as "
      "FILE.partial, renamed once complete) or to stdout");
  u_export->add_option("--workspace,-w", ux->workspace_id, "Workspace id (ws_…)")->required();
  u_export->add_option("--from", ux->from, "Start, YYYY-MM-DD or RFC 3339 (default: the server's)");
  u_export->add_option("--to", ux->to, "End, YYYY-MM-DD or RFC 3339 (default: the server's)");
  u_export->add_option("--format", ux->format, "csv or json (default csv)")
      ->check(CLI::IsMember({"csv", "json"}));
  u_export->add_option("--environment,-e", ux->environment, "Only this environment, e.g. live");
  u_export->add_option("--output,-o", ux->output, "The file to write (default: stdout)");
  u_export->callback([ux, exit_code] {
    ux->url = OperatorUrl();
    ux->root_key = EnvOr("KEYWARD_ROOT_KEY", "");
    *exit_code = RunUsageExport(*ux, stdout, std::cerr, ::isatty(2) == 1);
  });
}

}  // namespace keyward
