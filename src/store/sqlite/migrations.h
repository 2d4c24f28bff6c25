// The numbered schema migrations. Migration i (1-based) takes the schema
// from version i-1 to i; a migration, once released, never changes.
// Thread-safe: constant data.
#ifndef KEYWARD_STORE_SQLITE_MIGRATIONS_H_
#define KEYWARD_STORE_SQLITE_MIGRATIONS_H_

#include <vector>

namespace keyward {

const std::vector<const char*>& SqliteMigrations();

}  // namespace keyward

#endif  // KEYWARD_STORE_SQLITE_MIGRATIONS_H_
