// Option values the operator commands share, read from the command line
// into request JSON: rate limits ("100/60" or "none"), JSON objects, key
// credits, and --clear FIELD for the fields an update can set back. Each
// reader prints why a value is refused and sets *exit_code to kExitUsage.
// Not thread-safe: used while one command runs.
#ifndef KEYWARD_CLI_COMMAND_OPTIONS_H_
#define KEYWARD_CLI_COMMAND_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace keyward {

// "LIMIT/SECONDS" as {limit, period_seconds}; "none" as null.
std::optional<nlohmann::json> ParseRateLimitArg(const std::string& text, int* exit_code);

// A JSON object given as text (--meta '{"team":"payments"}').
std::optional<nlohmann::json> ParseObjectArg(const char* flag, const std::string& text,
                                             int* exit_code);

// "AMOUNT/daily", "AMOUNT/monthly" or "AMOUNT/monthly/DAY" as a credits
// refill {amount, interval, day?}; "none" as null.
std::optional<nlohmann::json> ParseRefillArg(const std::string& text, int* exit_code);

// "METHOD /path=COST" (a plan's cost rule) into costs[pattern] = cost.
bool AddCostRule(const std::string& text, nlohmann::json* costs, int* exit_code);

// --clear FIELD (repeatable), limited to fields; each sets body[field] to
// null, or to [] for a list field (one that ends in "allowlist" or is
// "scopes"), or to {} for meta.
CLI::Option* AddClearOption(CLI::App* cmd, std::vector<std::string>* into,
                            const std::vector<std::string>& fields);
void ApplyClears(const std::vector<std::string>& fields, nlohmann::json* body);

// --json on cmd.
void AddJsonFlag(CLI::App* cmd, bool* into);

}  // namespace keyward

#endif  // KEYWARD_CLI_COMMAND_OPTIONS_H_
