// `keyward migrate`: moves a one-node deployment (SQLite in a data
// directory) to PostgreSQL, so that several nodes can share it. Copies every
// table as it is (plans, workspaces, key records and hashes, root keys, the
// audit log, usage, the change log, credits spent and thresholds reached,
// portal and browser sessions, webhook endpoints, events and deliveries;
// not credit leases, which lapse with the node that held them) in one
// PostgreSQL transaction, then verifies the copy: row counts of every copied
// table and a SHA-256 over all key hashes (API and root keys) on both sides.
//
//  - Idempotent: when the target already holds exactly what the source
//    holds, nothing is written and the run says so.
//  - Refused when the target holds anything else (a node started on it,
//    another deployment): nothing is merged or overwritten.
//  - A failure leaves the target as it was (one transaction).
//
// Not thread-safe: one run at a time, on a source no keyward is writing.
#ifndef KEYWARD_STORE_MIGRATE_SQLITE_TO_POSTGRES_H_
#define KEYWARD_STORE_MIGRATE_SQLITE_TO_POSTGRES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace keyward {

struct MigrationReport {
  struct Table {
    std::string name;
    int64_t rows = 0;
  };
  std::vector<Table> tables;    // in copy order, with the rows each holds
  std::string key_hash_digest;  // hex SHA-256 over every key hash, on both sides
  bool already_done = false;    // the target already held exactly this
};

struct MigrationOptions {
  std::string sqlite_path;  // data_dir/keyward.db
  std::string postgres;     // a connection string
  // Progress: the table being copied, rows copied so far and its total.
  std::function<void(const std::string& table, int64_t done, int64_t total)> progress;
};

// InvalidRequest (nothing written) when the target holds other data;
// Unavailable when either database cannot be opened; Internal when the
// verification finds a difference (and the copy was rolled back).
Result<MigrationReport> MigrateSqliteToPostgres(const MigrationOptions& options);

}  // namespace keyward

#endif  // KEYWARD_STORE_MIGRATE_SQLITE_TO_POSTGRES_H_
