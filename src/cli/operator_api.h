// How the operator commands reach keyward's HTTP API: one call, or every
// page of a list, with the credential from KEYWARD_ROOT_KEY (a root key, or
// a keys:manage key) and the address from KEYWARD_URL. A failure is printed
// to stderr as keyward answered it and becomes the command's exit code
// (cli/exit_codes.h). Also reads a secret from standard input, never from the
// command line. Not thread-safe: one command at a time.
#ifndef KEYWARD_CLI_OPERATOR_API_H_
#define KEYWARD_CLI_OPERATOR_API_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace keyward {

// The variable's value, or fallback when it is unset or empty.
std::string EnvOr(const char* name, const std::string& fallback);

// KEYWARD_URL, or http://127.0.0.1:8080.
std::string OperatorUrl();

// Sends one request (body: null for none). The answer's JSON on a 2xx (an
// empty object for an empty body); nullopt after printing why otherwise, with
// *exit_code set. *exit_code is kExitOk after a success.
std::optional<nlohmann::json> ApiCall(const std::string& method, const std::string& target,
                                      const nlohmann::json& body, int* exit_code);

// Every item of a paged list (GET path?limit=100&cursor=…), or the first max
// when max > 0. query: more parameters, each as "&name=value" (encoded).
std::optional<nlohmann::json> ApiList(const std::string& path, const std::string& query, size_t max,
                                      int* exit_code);

// "&name=value", the value percent-encoded; empty when value is empty.
std::string QueryParam(const char* name, const std::string& value);

// One line from standard input (what: "the key", for the prompt and the
// errors), without its line end. On a terminal it prompts on stderr and
// does not echo. nullopt, with a message and *exit_code = kExitUsage, for
// an empty line or end of input.
std::optional<std::string> ReadSecretLine(const char* what, int* exit_code);

}  // namespace keyward

#endif  // KEYWARD_CLI_OPERATOR_API_H_
