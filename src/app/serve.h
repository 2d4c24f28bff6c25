// `keyward serve`: opens the App from the configuration, prints the first
// root key once when the database has none, serves HTTP until SIGTERM or
// SIGINT, then stops the background jobs (flushing usage and logs).
// Not thread-safe: call once from main.
#ifndef KEYWARD_APP_SERVE_H_
#define KEYWARD_APP_SERVE_H_

#include "server/config.h"

namespace keyward {

// Runs the server; returns the process exit code (0 after a graceful stop).
int RunServe(const Config& config);

}  // namespace keyward

#endif  // KEYWARD_APP_SERVE_H_
