// Opens the store the configuration names: `database` chooses the engine
// (empty: SQLite in data_dir; "postgres://…" is for a later build), so
// nothing above this file knows which engine it talks to.
// Not thread-safe: call before serving; the store it returns is.
#ifndef KEYWARD_APP_OPEN_STORE_H_
#define KEYWARD_APP_OPEN_STORE_H_

#include <memory>
#include <string>

#include "core/key_store.h"
#include "core/status.h"

namespace keyward {

// database: "" for SQLite in data_dir (created 0700 when missing, its
// files 0600); anything else is refused with Unavailable naming it.
Result<std::unique_ptr<KeyStore>> OpenStore(const std::string& database,
                                            const std::string& data_dir);

}  // namespace keyward

#endif  // KEYWARD_APP_OPEN_STORE_H_
