// The SQLite engine's root keys (KeyStore's root-key methods): stored as
// hashes, the first one made once however many processes start at once.
// Thread-safe: under the store's connection mutex.
#include <sqlite3.h>

#include "core/mutex.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace keyward {
namespace {

RootKey RowToRootKey(const sqlite_internal::Stmt& s) { return store_rules::RootKeyFromRow(s); }

}  // namespace

using namespace sqlite_internal;  // NOLINT: the engine's own helpers

Status SqliteStore::InsertRootKeyLocked(const RootKey& k) {
  Stmt s(db_,
         "INSERT INTO root_keys (id, hash, short_prefix, name, created_at, created_by) "
         "VALUES (?, ?, ?, ?, ?, ?)");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(k.id).Bind(k.hash).Bind(k.short_prefix).Bind(k.name).Bind(k.created_at).Bind(k.created_by);
  return s.Run();
}

Status SqliteStore::InsertRootKey(const RootKey& k, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  KEYWARD_RETURN_IF_ERROR(InsertRootKeyLocked(k));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Status SqliteStore::InsertFirstRootKey(const RootKey& k, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  // BEGIN IMMEDIATE: another process on the file waits until this commits.
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt count(db_, "SELECT COUNT(*) FROM root_keys");
  if (count.Step() != SQLITE_ROW) return SqliteError(db_, "count root keys");
  if (count.Int(0) > 0) return Status::Conflict("the database already has a root key");
  KEYWARD_RETURN_IF_ERROR(InsertRootKeyLocked(k));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<RootKey> SqliteStore::FindRootKeyByHash(const KeyHash& hash) {
  MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT id, hash, short_prefix, name, created_at, created_by, revoked_at "
         "FROM root_keys WHERE hash = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(hash);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return RowToRootKey(s);
  if (rc == SQLITE_DONE) return Status::NotFound("no such root key");
  return SqliteError(db_, "read root key");
}

Result<std::vector<RootKey>> SqliteStore::ListRootKeys() {
  MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT id, hash, short_prefix, name, created_at, created_by, revoked_at "
         "FROM root_keys ORDER BY seq");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  std::vector<RootKey> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(RowToRootKey(s));
  if (rc != SQLITE_DONE) return SqliteError(db_, "read root keys");
  return out;
}

Result<RootKey> SqliteStore::RevokeRootKey(std::string_view id, Timestamp at,
                                           const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt get(db_,
           "SELECT id, hash, short_prefix, name, created_at, created_by, revoked_at "
           "FROM root_keys WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(get.PrepareStatus());
  get.Bind(id);
  const int rc = get.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no root key " + std::string(id));
  if (rc != SQLITE_ROW) return SqliteError(db_, "read root key");
  RootKey key = RowToRootKey(get);
  if (key.revoked_at) return key;
  Stmt s(db_, "UPDATE root_keys SET revoked_at = ? WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(at).Bind(id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  KEYWARD_RETURN_IF_ERROR(tx.Commit());
  key.revoked_at = at;
  return key;
}

}  // namespace keyward
