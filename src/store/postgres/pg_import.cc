// The PostgreSQL engine's import of keys made elsewhere (KeyStore::ImportKeys),
// set-based: one read each for the batch's hashes, ids and workspaces, the
// rows decided in order here (store/rules.h's ImportOutcomeOf, each row
// seeing the ones before it), then multi-row inserts, the change log and the
// audit entries, all in one transaction.
//
// The import takes the change log's advisory lock first and holds it to
// commit: imports on every node run one at a time, and since each
// statement of a READ COMMITTED transaction sees what committed before it,
// the reads after the lock see every import before. So concurrent imports
// of one hash store it once (the others find it: kUnchanged). An InsertKey
// or RotateKey of the same hash or id racing an import (keys made here have
// random hashes and ids, so only by mistake) makes one of them fail: a
// unique violation (kConflict), or a deadlock, which is retried.
//
// Thread-safe: each call on a pooled connection of its own.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/postgres/pg_queries.h"
#include "store/postgres/pg_store.h"
#include "store/rules.h"

namespace keyward {

using namespace pg_internal;  // NOLINT: the engine's own helpers

namespace {

// Parameters a statement may have, at most (PostgreSQL's limit).
constexpr size_t kMaxParams = 65535;

// What is stored that the batch's rows meet.
struct Stored {
  std::map<KeyHash, store_rules::KeyHolder> holders;  // by hash
  std::set<std::string> ids;                          // ids taken
  std::set<std::string> workspaces;                   // workspaces that exist
};

Result<Stored> ReadStored(PgConnection& c, const std::vector<ImportKeyRow>& rows) {
  std::vector<KeyHash> hashes;
  std::vector<std::string> ids, workspaces;
  for (const ImportKeyRow& row : rows) {
    hashes.push_back(row.key.hash);
    ids.push_back(row.key.id);
    workspaces.push_back(row.key.workspace_id);
  }
  Stored out;
  auto held = c.Query(
      "SELECT hash, id, workspace_id, environment FROM api_keys WHERE hash = ANY($1::bytea[])",
      Params().Bind(HashArrayLiteral(hashes)));
  if (!held.ok()) return held.status();
  for (int i = 0; i < held->rows(); ++i) {
    const Row r = held->row(i);
    out.holders[r.Hash(0)] = store_rules::KeyHolder{r.Text(1), r.Text(2), r.Text(3)};
  }
  auto taken = c.Query("SELECT id FROM api_keys WHERE id = ANY($1::text[])",
                       Params().Bind(ArrayLiteral(ids)));
  if (!taken.ok()) return taken.status();
  for (int i = 0; i < taken->rows(); ++i) out.ids.insert(taken->row(i).Text(0));
  auto found = c.Query("SELECT id FROM workspaces WHERE id = ANY($1::text[])",
                       Params().Bind(ArrayLiteral(workspaces)));
  if (!found.ok()) return found.status();
  for (int i = 0; i < found->rows(); ++i) out.workspaces.insert(found->row(i).Text(0));
  return out;
}

// Inserts keys (all to be imported), in their order, as many a statement as
// its parameters allow.
Status InsertKeys(PgConnection& c, const std::vector<const ApiKey*>& keys) {
  const std::string columns = store_rules::KeyImportColumns();
  const int per_row = store_rules::KeyImportColumnCount();
  const size_t rows_per_insert = kMaxParams / static_cast<size_t>(per_row);
  for (size_t first = 0; first < keys.size(); first += rows_per_insert) {
    const size_t end = std::min(keys.size(), first + rows_per_insert);
    std::string sql = "INSERT INTO api_keys (" + columns + ") VALUES ";
    Params p;
    int n = 0;
    for (size_t i = first; i < end; ++i) {
      sql += i == first ? "(" : ", (";
      for (int col = 0; col < per_row; ++col) {
        sql += (col ? ", $" : "$") + std::to_string(++n);
      }
      sql += ")";
      store_rules::BindKeyImport(p, *keys[i]);
    }
    KEYWARD_RETURN_IF_ERROR(c.Exec(sql.c_str(), p));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<ImportedKey>> PgStore::ImportKeys(const std::vector<ImportKeyRow>& rows,
                                                     const ImportAudit& audit, bool dry_run) {
  // The store has no clock of its own, and a key's created_at may be long
  // past: its change is dated now, so that pruning the change log
  // (PruneKeyChanges) keeps it as long as any other.
  const Timestamp now = SystemClock::Get().Now();
  std::vector<ImportedKey> out;
  Status s = Transact([&](PgConnection& c) -> Status {
    out.clear();
    // Whatever the server's default: each read below must see what
    // committed before it, not a snapshot from before the lock.
    KEYWARD_RETURN_IF_ERROR(c.Exec("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"));
    // The workspaces' row locks before the change-log lock, in the order
    // InsertKey takes them (it holds its workspace FOR UPDATE, then waits
    // for the change log): taken after, the inserts' foreign-key checks
    // would wait for a workspace while holding the change log, a deadlock.
    {
      std::vector<std::string> workspaces;
      for (const ImportKeyRow& row : rows) workspaces.push_back(row.key.workspace_id);
      auto locked =
          c.Query("SELECT id FROM workspaces WHERE id = ANY($1::text[]) ORDER BY id FOR KEY SHARE",
                  Params().Bind(ArrayLiteral(workspaces)));
      if (!locked.ok()) return locked.status();
    }
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Bind(kChangeLogLock)));
    // A dry run does everything, then undoes it back to here (the lock is
    // kept to the end of the transaction, which commits nothing).
    if (dry_run) KEYWARD_RETURN_IF_ERROR(c.Exec("SAVEPOINT import_dry_run"));
    auto stored = ReadStored(c, rows);
    if (!stored.ok()) return stored.status();
    std::vector<const ApiKey*> imported;
    std::vector<KeyHash> hashes;
    for (const ImportKeyRow& row : rows) {
      const ApiKey& k = row.key;
      const auto holder = stored->holders.find(k.hash);
      out.push_back(store_rules::ImportOutcomeOf(
          row, holder == stored->holders.end() ? std::nullopt : std::optional(holder->second),
          stored->ids.count(k.id) > 0, stored->workspaces.count(k.workspace_id) > 0));
      if (out.back().outcome != ImportOutcome::kImported) continue;
      // The rows after it meet it as stored.
      stored->holders[k.hash] = store_rules::KeyHolder{k.id, k.workspace_id, k.environment};
      stored->ids.insert(k.id);
      imported.push_back(&k);
      hashes.push_back(k.hash);
    }
    KEYWARD_RETURN_IF_ERROR(InsertKeys(c, imported));
    KEYWARD_RETURN_IF_ERROR(LogKeyChanges(c, hashes, now));
    if (audit) {
      for (const AuditEntry& e : audit(out)) KEYWARD_RETURN_IF_ERROR(InsertAudit(c, e));
    }
    if (dry_run) return c.Exec("ROLLBACK TO SAVEPOINT import_dry_run");
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace keyward
