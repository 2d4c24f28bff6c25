// The SQLite engine's import of keys made elsewhere (KeyStore::ImportKeys):
// the rows in order, in one write transaction, each seeing the ones before
// it; what becomes of a row is store/rules.h's ImportOutcomeOf. One writer
// at a time (the store's mutex and BEGIN IMMEDIATE) keeps concurrent imports
// of the same hashes apart. Thread-safe: under the store's mutex.
#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/rules.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace keyward {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers

namespace {

// "?, ?, …" for n values.
std::string Placeholders(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// Whether the statement (bound) finds a row. Reset after, so that no read
// is left open while the transaction writes and commits.
Result<bool> Exists(sqlite3* db, Stmt& s) {
  const int rc = s.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, "read");
  s.Reset();
  return rc == SQLITE_ROW;
}

}  // namespace

Result<std::vector<ImportedKey>> SqliteStore::ImportKeys(const std::vector<ImportKeyRow>& rows,
                                                         const ImportAudit& audit, bool dry_run) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt by_hash(db_, "SELECT id, workspace_id, environment FROM api_keys WHERE hash = ?");
  Stmt by_id(db_, "SELECT 1 FROM api_keys WHERE id = ?");
  Stmt workspace(db_, "SELECT 1 FROM workspaces WHERE id = ?");
  const std::string insert_sql = "INSERT INTO api_keys (" + store_rules::KeyImportColumns() +
                                 ") VALUES (" + Placeholders(store_rules::KeyImportColumnCount()) +
                                 ")";
  Stmt insert(db_, insert_sql.c_str());
  for (Stmt* s : {&by_hash, &by_id, &workspace, &insert}) {
    KEYWARD_RETURN_IF_ERROR(s->PrepareStatus());
  }
  // The store has no clock of its own, and a key's created_at may be long
  // past: its change is dated now, so that pruning the change log
  // (PruneKeyChanges) keeps it as long as any other.
  const Timestamp now = SystemClock::Get().Now();
  std::vector<ImportedKey> out;
  out.reserve(rows.size());
  for (const ImportKeyRow& row : rows) {
    const ApiKey& k = row.key;
    std::optional<store_rules::KeyHolder> holder;
    by_hash.Bind(k.hash);
    if (const int rc = by_hash.Step(); rc == SQLITE_ROW) {
      holder = store_rules::KeyHolder{by_hash.Text(0), by_hash.Text(1), by_hash.Text(2)};
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db_, "read key");
    }
    by_hash.Reset();
    bool id_taken = false, has_workspace = false;
    if (!holder) {
      by_id.Bind(k.id);
      auto taken = Exists(db_, by_id);
      if (!taken.ok()) return taken.status();
      id_taken = *taken;
    }
    if (!holder && !id_taken) {
      workspace.Bind(k.workspace_id);
      auto found = Exists(db_, workspace);
      if (!found.ok()) return found.status();
      has_workspace = *found;
    }
    out.push_back(store_rules::ImportOutcomeOf(row, holder, id_taken, has_workspace));
    if (out.back().outcome != ImportOutcome::kImported) continue;
    insert.Reset();
    store_rules::BindKeyImport(insert, k);
    KEYWARD_RETURN_IF_ERROR(insert.Run());
    KEYWARD_RETURN_IF_ERROR(LogKeyChangeLocked(k.hash, now));
  }
  if (audit) {
    for (const AuditEntry& e : audit(out)) KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(e));
  }
  // A dry run ends here: the transaction rolls back as it goes out of scope.
  if (!dry_run) KEYWARD_RETURN_IF_ERROR(tx.Commit());
  return out;
}

}  // namespace keyward
