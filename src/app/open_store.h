// Opens the store the configuration names: `database` chooses the engine
// (empty: SQLite in data_dir; a PostgreSQL connection string: the cluster
// engine), so nothing above this file knows which engine it talks to.
// Not thread-safe: call before serving; the store it returns is.
#ifndef KEYWARD_APP_OPEN_STORE_H_
#define KEYWARD_APP_OPEN_STORE_H_

#include <memory>
#include <string>

#include "core/key_store.h"
#include "core/status.h"
#include "server/config.h"

namespace keyward {

// SQLite in data_dir (created 0700 when missing, its files 0600) when
// database is empty; else PostgreSQL with database_pool_size connections.
// Both bring their schema up to date. Unavailable when the database cannot
// be opened or reached; no message carries a password.
Result<std::unique_ptr<KeyStore>> OpenStore(const Config& config);

// The store as a log line may name it: "sqlite ./data" or
// "postgres://user@host:5432/keyward" (never a password).
std::string StoreDisplayName(const Config& config);

}  // namespace keyward

#endif  // KEYWARD_APP_OPEN_STORE_H_
