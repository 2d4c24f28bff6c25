// The operator commands over HTTP, one group per file in cli/commands/:
// each Add…Commands puts its group on the program's CLI11 app, and main.cc
// calls every one. Every command prints a table or "field value" lines for
// people, or JSON with --json, and sets *exit_code (cli/exit_codes.h). The
// option values live as long as the app (captured by its callbacks). Not
// thread-safe: the command line is parsed once.
#ifndef KEYWARD_CLI_COMMANDS_H_
#define KEYWARD_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace keyward {

void AddWorkspaceCommands(CLI::App& app, int* exit_code);
void AddKeyCommands(CLI::App& app, int* exit_code);
void AddPlanCommands(CLI::App& app, int* exit_code);
void AddVerifyCommand(CLI::App& app, int* exit_code);
void AddUsageCommands(CLI::App& app, int* exit_code);
void AddAuditLogCommand(CLI::App& app, int* exit_code);
void AddWebhookCommands(CLI::App& app, int* exit_code);
void AddLeakCommands(CLI::App& app, int* exit_code);
void AddPortalSessionCommands(CLI::App& app, int* exit_code);
void AddHealthCommand(CLI::App& app, int* exit_code);

// Every operator command group above, in the order `keyward --help` lists.
void AddOperatorCommands(CLI::App& app, int* exit_code);

// After a parse error: for a missing or unknown subcommand, "keyward keys:
// unknown command 'x'; the commands are: create, list, …" (or "…needs a
// command; …") on stderr, naming the deepest command that was recognised.
// False when e is another error (CLI11's own message is then printed).
bool ExplainSubcommandError(const CLI::App& app, const CLI::ParseError& e,
                            const std::vector<std::string>& args);

// message with every argument that could be a secret (32 or more letters,
// digits and '_' in a row, as keys are) cut to its first characters and
// "…": CLI11 quotes arguments it did not expect, and a key pasted after
// `keyward verify` must not reach a terminal's scrollback or a log.
std::string WithoutSecretArguments(std::string message, const std::vector<std::string>& args);

}  // namespace keyward

#endif  // KEYWARD_CLI_COMMANDS_H_
