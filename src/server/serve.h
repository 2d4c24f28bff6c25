// `keyward serve`: wires storage, the key service, the verifier and the HTTP
// server together and runs until SIGTERM or SIGINT.
// Not thread-safe: call once from main.
#ifndef KEYWARD_SERVER_SERVE_H_
#define KEYWARD_SERVER_SERVE_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "server/config.h"
#include "store/sqlite/sqlite_store.h"

namespace keyward {

// Runs the server; returns the process exit code (0 after a graceful stop).
int RunServe(const Config& config);

// Creates data_dir (mode 0700) if needed and opens data_dir/keyward.db.
Result<std::unique_ptr<SqliteStore>> OpenDataDir(const std::string& data_dir);

}  // namespace keyward

#endif  // KEYWARD_SERVER_SERVE_H_
