// keyward leaks report: keys found where they must not be (a paste, a
// public repository), read one per line from standard input, checked and,
// by the deployment's [leaks] action, revoked. Pipes from `keyward scan`'s
// findings are the usual source; the keys never pass through argv.
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

struct LeakOptions {
  std::string source, url;
  bool json = false;
};

constexpr size_t kMaxKeysPerReport = 1000;  // the route's own bound

}  // namespace

void AddLeakCommands(CLI::App& app, int* exit_code) {
  auto* leaks = app.add_subcommand("leaks", "Report leaked keys so that they are revoked");
  leaks->require_subcommand(1);
  auto o = std::make_shared<LeakOptions>();
  auto* report = leaks->add_subcommand(
      "report",
      "Report keys read one per line from standard input (up to 1000 per call; more are sent "
      "in several calls)");
  report->add_option("--source", o->source, "Where they were found, e.g. pastebin");
  report->add_option("--url", o->url, "The address where they were found");
  AddJsonFlag(report, &o->json);
  report->callback([o, exit_code] {
    std::vector<std::string> keys;
    std::string line;
    while (std::getline(std::cin, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) keys.push_back(line);
    }
    if (keys.empty()) {
      std::cerr << "keyward: no keys on standard input (one per line)\n";
      *exit_code = kExitUsage;
      return;
    }
    json results = json::array();
    for (size_t i = 0; i < keys.size(); i += kMaxKeysPerReport) {
      json body = {{"keys", std::vector<std::string>(
                                keys.begin() + static_cast<std::ptrdiff_t>(i),
                                keys.begin() + static_cast<std::ptrdiff_t>(
                                                   std::min(keys.size(), i + kMaxKeysPerReport)))}};
      if (!o->source.empty()) body["source"] = o->source;
      if (!o->url.empty()) body["url"] = o->url;
      auto r = ApiCall("POST", "/v1/leaks", body, exit_code);
      if (!r) return;
      for (auto& x : (*r)["results"]) results.push_back(x);
    }
    if (o->json) return PrintJson(json{{"results", results}});
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : results) {
      rows.push_back({Str(x, "short_prefix"), Str(x, "label"), Str(x, "action"), Str(x, "key_id"),
                      Str(x, "reason")});
    }
    PrintTable({"PREFIX", "LABEL", "ACTION", "KEY", "REASON"}, rows);
  });
}

}  // namespace keyward
