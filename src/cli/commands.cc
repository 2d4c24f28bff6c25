#include "cli/commands.h"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>

#include "cli/command_options.h"
#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/operator_api.h"
#include "cli/output.h"

namespace keyward {

using nlohmann::json;

void AddHealthCommand(CLI::App& app, int* exit_code) {
  auto as_json = std::make_shared<bool>(false);
  auto* health = app.add_subcommand(
      "health",
      "Ask a running keyward whether it is up (/healthz) and ready to store changes (/readyz); "
      "exit 0 when ready, 3 when not");
  AddJsonFlag(health, as_json.get());
  health->callback([as_json, exit_code] {
    auto client = HttpClient::Create(OperatorUrl(), "");
    if (!client.ok()) {
      std::cerr << "keyward: " << client.status().message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    json answer = json::object();
    bool ready = true;
    for (const char* path : {"/healthz", "/readyz"}) {
      auto res = client->Send("GET", path);
      if (!res.ok()) {
        std::cerr << "keyward: " << res.status().message() << "\n";
        *exit_code = kExitUnavailable;
        return;
      }
      json body = json::parse(res->body, nullptr, false);
      answer[path + 1] = {{"http_status", res->status},
                          {"body", body.is_discarded() ? json(res->body) : body}};
      ready = ready && res->status == 200;
    }
    *exit_code = ready ? kExitOk : kExitUnavailable;
    if (*as_json) return PrintJson(answer);
    const json& r = answer["readyz"]["body"];
    std::cout << "healthz  " << answer["healthz"]["http_status"].get<int>() << "\n"
              << "readyz   " << answer["readyz"]["http_status"].get<int>() << " "
              << (r.is_object() ? (r.contains("error") ? Str(r, "error") + ": " + Str(r, "message")
                                                       : Str(r, "status"))
                                : std::string("-"))
              << "\n";
  });
}

void AddOperatorCommands(CLI::App& app, int* exit_code) {
  AddWorkspaceCommands(app, exit_code);
  AddKeyCommands(app, exit_code);
  AddVerifyCommand(app, exit_code);
  AddPlanCommands(app, exit_code);
  AddUsageCommands(app, exit_code);
  AddAuditLogCommand(app, exit_code);
  AddWebhookCommands(app, exit_code);
  AddLeakCommands(app, exit_code);
  AddPortalSessionCommands(app, exit_code);
  AddHealthCommand(app, exit_code);
}

std::string WithoutSecretArguments(std::string message, const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    const bool key_like = arg.size() >= 32 && std::all_of(arg.begin(), arg.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                          });
    if (!key_like) continue;
    const size_t underscore = arg.rfind('_');
    const size_t keep = underscore == std::string::npos ? 4 : underscore + 5;
    const std::string cut = arg.substr(0, keep) + "…";
    for (size_t at = message.find(arg); at != std::string::npos;
         at = message.find(arg, at + cut.size())) {
      message.replace(at, arg.size(), cut);
    }
  }
  return message;
}

bool ExplainSubcommandError(const CLI::App& app, const CLI::ParseError& e,
                            const std::vector<std::string>& args) {
  const bool missing = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
                       std::string(e.what()).find("subcommand") != std::string::npos;
  const bool extra = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
  if (!missing && !extra) return false;
  // The deepest command the words named.
  const CLI::App* at = &app;
  std::string path = app.get_name();
  size_t next = 0;
  for (; next < args.size(); ++next) {
    const std::string& word = args[next];
    if (word.starts_with("-")) break;
    const CLI::App* sub = nullptr;
    for (const CLI::App* s : at->get_subcommands([](const CLI::App*) { return true; })) {
      if (s->get_name() == word) sub = s;
    }
    if (sub == nullptr) break;
    at = sub;
    path += " " + word;
  }
  const auto subs = at->get_subcommands([](const CLI::App*) { return true; });
  if (subs.empty()) return false;  // extra arguments to a command that has none: CLI11 says so
  std::string names;
  for (const CLI::App* s : subs) names += (names.empty() ? "" : ", ") + s->get_name();
  if (next < args.size() && !args[next].starts_with("-")) {
    std::cerr << path << ": unknown command '" << WithoutSecretArguments(args[next], args)
              << "'; the commands are: " << names << "\n";
  } else {
    std::cerr << path << " needs a command: " << names << "\n";
  }
  std::cerr << "Run '" << path << " --help' for what each does.\n";
  return true;
}

}  // namespace keyward
