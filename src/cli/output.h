// How the operator commands print: aligned tables and "field value" lists
// for people, indented JSON with --json for scripts. Never a secret unless
// the command exists to show one (a new key, once). Not thread-safe: writes
// to stdout.
#ifndef KEYWARD_CLI_OUTPUT_H_
#define KEYWARD_CLI_OUTPUT_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keyward {

// Columns aligned to their widest cell, two spaces apart; "(none)" alone
// when there are no rows.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// One "name   value" line per field, names aligned.
void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields);

// j, indented, and a line end.
void PrintJson(const nlohmann::json& j);

// What a command prints once its ApiCall is done: nothing when the call
// failed (ApiCall said why), the answer as JSON with --json, else
// render(answer).
void PrintAnswer(const std::optional<nlohmann::json>& answer, bool as_json,
                 const std::function<void(const nlohmann::json&)>& render);

// A field as text: a string as it is, null or missing as "-", anything else
// as JSON.
std::string Str(const nlohmann::json& j, const char* field);

// An array field as "a,b,c" ("-" when empty or missing).
std::string JoinList(const nlohmann::json& j, const char* field);

// {limit, period_seconds} as "100 per 60 s", null as "-".
std::string RateLimitText(const nlohmann::json& j, const char* field);

}  // namespace keyward

#endif  // KEYWARD_CLI_OUTPUT_H_
