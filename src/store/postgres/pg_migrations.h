// The PostgreSQL schema, as numbered migrations: the Nth entry brings a
// database from version N-1 to N. Applied by PgStore::Open under an
// advisory lock, each in a transaction of its own. Never edit a released
// entry; append a new one.
// Thread-safe: constant data.
#ifndef KEYWARD_STORE_POSTGRES_PG_MIGRATIONS_H_
#define KEYWARD_STORE_POSTGRES_PG_MIGRATIONS_H_

#include <vector>

namespace keyward {

const std::vector<const char*>& PostgresMigrations();

}  // namespace keyward

#endif  // KEYWARD_STORE_POSTGRES_PG_MIGRATIONS_H_
