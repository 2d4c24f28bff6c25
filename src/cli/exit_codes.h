// The keyward command's exit codes, shared by every subcommand, and how an
// HTTP answer's status maps to them. Thread-safe: constants and a pure
// function.
#ifndef KEYWARD_CLI_EXIT_CODES_H_
#define KEYWARD_CLI_EXIT_CODES_H_

namespace keyward {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;       // the server refused the request (4xx)
constexpr int kExitUsage = 2;         // bad usage or configuration
constexpr int kExitUnavailable = 3;   // keyward could not be reached or failed (5xx)
constexpr int kExitUnauthorized = 4;  // the credential was refused (401/403)

// The exit code for an answer that is not 2xx.
inline int ExitCodeForHttpStatus(int status) {
  if (status == 401 || status == 403) return kExitUnauthorized;
  if (status >= 500) return kExitUnavailable;
  return kExitRefused;
}

}  // namespace keyward

#endif  // KEYWARD_CLI_EXIT_CODES_H_
