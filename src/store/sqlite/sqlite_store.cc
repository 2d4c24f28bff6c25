#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/mutex.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/statement.h"

namespace keyward {
namespace {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers

using store_rules::kAuditColumns;
using store_rules::kKeyColumns;
using store_rules::kWorkspaceColumns;

ApiKey RowToKey(const Stmt& s) { return store_rules::KeyFromRow(s); }
Workspace RowToWorkspace(const Stmt& s) { return store_rules::WorkspaceFromRow(s); }
AuditEntry RowToAudit(const Stmt& s) { return store_rules::AuditFromRow(s); }

// The rules' reads, on this connection (under the store's mutex).
store_rules::Reads MakeReads(sqlite3* db, std::function<Result<ApiKey>(std::string_view)> get_key,
                             std::function<Result<int64_t>()> count_active) {
  store_rules::Reads r;
  r.heir_of = [db](std::string_view id) -> Result<std::optional<std::string>> {
    Stmt heir(db, "SELECT id FROM api_keys WHERE rotated_from = ? LIMIT 1");
    KEYWARD_RETURN_IF_ERROR(heir.PrepareStatus());
    heir.Bind(id);
    const int rc = heir.Step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(heir.Text(0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return SqliteError(db, "read key");
  };
  r.get_key = std::move(get_key);
  r.count_active = std::move(count_active);
  return r;
}

}  // namespace

namespace {

// Opens the writer's connection to path (creating the file only when
// create), with the settings every write relies on.
Result<sqlite3*> OpenWriter(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    if (db == nullptr)
      return Status::Unavailable("cannot open database " + path + ": out of memory");
    Status s = SqliteError(db, ("cannot open database " + path).c_str());
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (sqlite3_exec(db, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) {
      Status s = SqliteError(db, pragma);
      sqlite3_close(db);
      return s;
    }
  }
  return db;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  auto db = OpenWriter(path, /*create=*/true);
  if (!db.ok()) {
    // Opening is the operator's business, not a client's: the path helps.
    return Status::Unavailable(db.status().message());
  }
  // The owner's alone, even a database first made under a looser umask;
  // SQLite gives new WAL and shared-memory files the database's mode.
  for (const char* suffix : {"", "-wal", "-shm"}) ::chmod((path + suffix).c_str(), 0600);
  std::unique_ptr<SqliteStore> store(new SqliteStore(*db, path));
  {
    MutexLock lock(&store->mu_);
    KEYWARD_RETURN_IF_ERROR(store->Migrate());
  }
  KEYWARD_RETURN_IF_ERROR(store->OpenReaders(path));
  return store;
}

void SqliteStore::Reader::Close() {
  for (sqlite3_stmt* stmt : {find_by_hash, workspace_by_id, plan_by_id}) sqlite3_finalize(stmt);
  find_by_hash = workspace_by_id = plan_by_id = nullptr;
  sqlite3_close_v2(db);
  db = nullptr;
}

Status SqliteStore::OpenReaders(const std::string& path) {
  const std::string by_hash =
      std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE hash = ?";
  const std::string workspace =
      std::string("SELECT ") + kWorkspaceColumns + " FROM workspaces WHERE id = ?";
  const std::string plan =
      std::string("SELECT ") + store_rules::kPlanColumns + " FROM plans WHERE id = ?";
  for (Reader& r : readers_) {
    sqlite3* db = nullptr;
    sqlite3_stmt* stmts[3] = {nullptr, nullptr, nullptr};
    bool ok = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                              nullptr) == SQLITE_OK;
    const std::string* sql[3] = {&by_hash, &workspace, &plan};
    for (int i = 0; ok && i < 3; ++i) {
      ok = sqlite3_prepare_v3(db, sql[i]->c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmts[i],
                              nullptr) == SQLITE_OK;
    }
    if (!ok) {
      Status s = db != nullptr ? SqliteError(db, "open a reader")
                               : Status::Unavailable("cannot open a reader: out of memory");
      for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
      sqlite3_close_v2(db);
      return s;
    }
    sqlite3_busy_timeout(db, 5000);
    MutexLock lock(&r.mu);
    r.Close();
    r.db = db;
    r.find_by_hash = stmts[0];
    r.workspace_by_id = stmts[1];
    r.plan_by_id = stmts[2];
  }
  return Status::Ok();
}

template <typename T, typename Key, typename RowTo>
Result<T> SqliteStore::ReadOneOnReader(sqlite3_stmt* Reader::*stmt, const Key& key, RowTo row_to,
                                       const char* what, std::string_view not_found) {
  Reader& r = MyReader();
  MutexLock lock(&r.mu);
  Stmt s(r.db, r.*stmt);
  s.Bind(key);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return row_to(s);
  if (rc == SQLITE_DONE) return Status::NotFound(std::string(not_found));
  return SqliteError(r.db, what);
}

SqliteStore::Reader& SqliteStore::MyReader() {
  static std::atomic<size_t> next_reader{0};
  thread_local const size_t mine = next_reader.fetch_add(1, std::memory_order_relaxed);
  return readers_[mine % kReaders];
}

Status SqliteStore::Recover() {
  // Only the file that is there: a deleted database is never replaced by a
  // new, empty one behind the operator's back.
  auto fresh = OpenWriter(path_, /*create=*/false);
  if (!fresh.ok()) return fresh.status();
  sqlite3* old = nullptr;
  {
    MutexLock lock(&mu_);
    old = db_;
    db_ = *fresh;
    // A file restored from before a migration is brought up to date.
    if (Status s = Migrate(); !s.ok()) {
      db_ = old;
      sqlite3_close_v2(*fresh);
      return s;
    }
  }
  sqlite3_close_v2(old);
  return OpenReaders(path_);
}

Status SqliteStore::ProbeWrite() {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_,
         "INSERT INTO write_probe (id, at) VALUES (1, ?) "
         "ON CONFLICT (id) DO UPDATE SET at = excluded.at");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(static_cast<int64_t>(SystemClock::Get().Now()));
  KEYWARD_RETURN_IF_ERROR(s.Run());
  return tx.Commit();
}

SqliteStore::~SqliteStore() {
  MutexLock lock(&mu_);
  for (Reader& r : readers_) {
    MutexLock reader_lock(&r.mu);
    r.Close();
  }
  sqlite3_close_v2(db_);
}

int SqliteStore::LatestSchemaVersion() { return static_cast<int>(SqliteMigrations().size()); }

Status SqliteStore::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqliteError(db_, "exec");
  return Status::Ok();
}

Status SqliteStore::Migrate() {
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  int64_t current = 0;
  {
    // Finished before any migration runs: DROP fails while a statement is open.
    Stmt v(db_, "PRAGMA user_version");
    if (v.Step() != SQLITE_ROW) return SqliteError(db_, "read schema version");
    current = v.Int(0);
  }
  const auto& migrations = SqliteMigrations();
  if (current > static_cast<int64_t>(migrations.size())) {
    return Status::Unavailable("the database has schema version " + std::to_string(current) +
                               ", newer than this keyward (" + std::to_string(migrations.size()) +
                               "); upgrade keyward");
  }
  for (size_t i = static_cast<size_t>(current); i < migrations.size(); ++i) {
    KEYWARD_RETURN_IF_ERROR(Exec(migrations[i]));
    const std::string set = "PRAGMA user_version = " + std::to_string(i + 1);
    KEYWARD_RETURN_IF_ERROR(Exec(set.c_str()));
  }
  return tx.Commit();
}

Status SqliteStore::Ping() {
  {
    MutexLock lock(&mu_);
    if (DatabaseMoved(db_)) {
      return Status::Storage(StorageFault::kMissing, "the database file was deleted or moved");
    }
  }
  auto version = SchemaVersion();
  if (!version.ok() && version.status().fault() != StorageFault::kNone) return version.status();
  return version.ok() ? Status::Ok() : Status::Unavailable(version.status().message());
}

Result<int> SqliteStore::SchemaVersion() {
  MutexLock lock(&mu_);
  Stmt s(db_, "PRAGMA user_version");
  if (s.Step() != SQLITE_ROW) return SqliteError(db_, "read schema version");
  return static_cast<int>(s.Int(0));
}

Result<std::string> SqliteStore::IntegrityCheck() {
  MutexLock lock(&mu_);
  Stmt s(db_, "PRAGMA integrity_check");
  if (s.Step() != SQLITE_ROW) return SqliteError(db_, "integrity check");
  return s.Text(0);
}

Status SqliteStore::InsertAuditLocked(const AuditEntry& e) {
  const std::string sql =
      std::string("INSERT INTO audit_log (") + kAuditColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindAudit(s, e);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  // The outbox: the events of the change commit with it.
  for (const WebhookEvent& event : EventsForAudit(e)) {
    KEYWARD_RETURN_IF_ERROR(InsertEventLocked(event, nullptr));
  }
  return Status::Ok();
}

Status SqliteStore::AppendAudit(const AuditEntry& entry) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(entry));
  return tx.Commit();
}

// ---- Workspaces ----

Status SqliteStore::CreateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  KEYWARD_RETURN_IF_ERROR(CheckPlanLocked(ws.plan_id));
  const std::string sql = std::string("INSERT INTO workspaces (") +
                          store_rules::kWorkspaceInsertColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindWorkspaceInsert(s, ws);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<Workspace> SqliteStore::GetWorkspace(std::string_view id) {
  MutexLock lock(&mu_);
  const std::string sql =
      std::string("SELECT ") + kWorkspaceColumns + " FROM workspaces WHERE id = ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return RowToWorkspace(s);
  if (rc == SQLITE_DONE) return Status::NotFound("no workspace " + std::string(id));
  return SqliteError(db_, "read workspace");
}

Result<Workspace> SqliteStore::GetWorkspaceToVerify(std::string_view id) {
  auto ws = ReadOneOnReader<Workspace>(&Reader::workspace_by_id, id, RowToWorkspace,
                                       "read workspace", "no workspace " + std::string(id));
  // A reader's cold page cache that meets an I/O error: the writer's
  // connection is asked once more, so that a write route showing a policy
  // after its change answers what it did.
  if (!ws.ok() && !ws.status().IsNotFound()) return GetWorkspace(id);
  return ws;
}

Result<Plan> SqliteStore::GetPlanToVerify(std::string_view id) {
  auto plan = ReadOneOnReader<Plan>(&Reader::plan_by_id, id, store_rules::PlanFromRow<Stmt>,
                                    "read plan", "no plan " + std::string(id));
  // As for the workspace: a failed reader read is asked of the writer.
  if (!plan.ok() && !plan.status().IsNotFound()) return GetPlan(id);
  return plan;
}

Result<Page<Workspace>> SqliteStore::ListWorkspaces(const WorkspaceFilter& f,
                                                    const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(CheckLimit(page.limit));
  MutexLock lock(&mu_);
  auto seq = CursorSeq(db_, "workspaces", page.cursor);
  if (!seq.ok()) return seq.status();
  // A part of the name (any case) or of the id; LIKE's own wildcards in the
  // query are matched as themselves.
  const std::string like = store_rules::ContainsPattern(f.query);
  const std::string sql =
      std::string("SELECT ") + kWorkspaceColumns +
      " FROM workspaces WHERE (? = 0 OR seq < ?) AND (? = '' OR name LIKE ? ESCAPE '\\' OR id "
      "LIKE ? ESCAPE '\\') ORDER BY seq DESC LIMIT ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(*seq).Bind(*seq).Bind(f.query).Bind(like).Bind(like);
  return ReadPage<Workspace>(db_, s, page.limit, RowToWorkspace,
                             [](const Workspace& w) { return w.id; });
}

Status SqliteStore::UpdateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  KEYWARD_RETURN_IF_ERROR(CheckPlanLocked(ws.plan_id));
  Stmt s(db_,
         "UPDATE workspaces SET name = ?, max_active_keys = ?, plan_id = ?, monthly_credits = ?, "
         "rate_limit_limit = ?, rate_limit_period = ?, billing_anchor_day = ?, "
         "rotate_after_days = ? WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindWorkspaceUpdate(s, ws);
  s.Bind(ws.id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no workspace " + ws.id);
  // Nodes drop what they cache of the workspace's limits.
  KEYWARD_RETURN_IF_ERROR(LogKeyChangeLocked(kPolicyChange, audit.at));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

// ---- API keys ----

Status SqliteStore::InsertKeyLocked(const ApiKey& k) {
  const std::string sql = std::string("INSERT INTO api_keys (") + store_rules::kKeyInsertColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                          "?, ?, ?, ?, ?)";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindKeyInsert(s, k);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  return LogKeyChangeLocked(k.hash, k.created_at);
}

Status SqliteStore::LogKeyChangeLocked(const KeyHash& hash, Timestamp at) {
  Stmt s(db_, "INSERT INTO key_changes (key_hash, at) VALUES (?, ?)");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(hash).Bind(at);
  return s.Run();
}

Result<std::vector<KeyChange>> SqliteStore::KeyChangesSince(int64_t seq, int limit) {
  MutexLock lock(&mu_);
  Stmt s(db_, "SELECT seq, key_hash FROM key_changes WHERE seq > ? ORDER BY seq LIMIT ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(seq).Bind(static_cast<int64_t>(limit));
  std::vector<KeyChange> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Int(0), s.Hash(1)});
  if (rc != SQLITE_DONE) return SqliteError(db_, "read key changes");
  return out;
}

Result<int64_t> SqliteStore::LatestKeyChange() {
  MutexLock lock(&mu_);
  Stmt s(db_, "SELECT COALESCE(MAX(seq), 0) FROM key_changes");
  if (s.Step() != SQLITE_ROW) return SqliteError(db_, "read key changes");
  return s.Int(0);
}

Status SqliteStore::PruneKeyChanges(Timestamp before) {
  MutexLock lock(&mu_);
  Stmt s(db_, "DELETE FROM key_changes WHERE at < ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(before);
  return s.Run();
}

Status SqliteStore::InsertKey(const ApiKey& key, int64_t max_active, Timestamp now,
                              const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  {
    Stmt ws(db_, "SELECT 1 FROM workspaces WHERE id = ?");
    KEYWARD_RETURN_IF_ERROR(ws.PrepareStatus());
    ws.Bind(key.workspace_id);
    const int rc = ws.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no workspace " + key.workspace_id);
    if (rc != SQLITE_ROW) return SqliteError(db_, "read workspace");
  }
  auto active = CountActiveKeysLocked(key.workspace_id, now);
  if (!active.ok()) return active.status();
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckKeyLimit(key.workspace_id, *active, max_active));
  KEYWARD_RETURN_IF_ERROR(InsertKeyLocked(key));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<ApiKey> SqliteStore::GetKeyLocked(std::string_view id) {
  const std::string sql = std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE id = ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return RowToKey(s);
  if (rc == SQLITE_DONE) return Status::NotFound("no API key " + std::string(id));
  return SqliteError(db_, "read key");
}

Result<int64_t> SqliteStore::CountActiveKeysLocked(std::string_view workspace_id, Timestamp now) {
  Stmt count(db_,
             "SELECT COUNT(*) FROM api_keys WHERE workspace_id = ? AND revoked_at IS NULL "
             "AND (expires_at IS NULL OR expires_at > ?)");
  KEYWARD_RETURN_IF_ERROR(count.PrepareStatus());
  count.Bind(workspace_id).Bind(now);
  if (count.Step() != SQLITE_ROW) return SqliteError(db_, "count keys");
  return count.Int(0);
}

Result<int64_t> SqliteStore::CountActiveKeys(std::string_view workspace_id, Timestamp now) {
  MutexLock lock(&mu_);
  return CountActiveKeysLocked(workspace_id, now);
}

Result<ApiKey> SqliteStore::GetKey(std::string_view id) {
  MutexLock lock(&mu_);
  return GetKeyLocked(id);
}

Result<ApiKey> SqliteStore::FindKeyByHash(const KeyHash& hash) {
  return ReadOneOnReader<ApiKey>(&Reader::find_by_hash, hash, RowToKey, "read key", "no such key");
}

Result<Page<ApiKey>> SqliteStore::ListKeys(const KeyFilter& f, const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(CheckLimit(page.limit));
  MutexLock lock(&mu_);
  auto seq = CursorSeq(db_, "api_keys", page.cursor,
                       {{"workspace_id", f.workspace_id}, {"environment", f.environment}});
  if (!seq.ok()) return seq.status();
  std::string sql = std::string("SELECT ") + kKeyColumns +
                    " FROM api_keys WHERE (? = 0 OR seq < ?) AND (? = '' OR workspace_id = ?) "
                    "AND (? = '' OR environment = ?)";
  if (f.status) {
    switch (*f.status) {
      case KeyStatus::kRevoked:
        sql += " AND revoked_at IS NOT NULL";
        break;
      case KeyStatus::kExpired:
        sql += " AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?";
        break;
      case KeyStatus::kDisabled:
        sql +=
            " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND disabled = 1";
        break;
      case KeyStatus::kActive:
        sql +=
            " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND disabled = 0";
        break;
    }
  }
  if (f.rotation_due) {
    // Active, and as old as its workspace's policy (else the deployment's).
    sql +=
        " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND disabled = 0 AND "
        "created_at + COALESCE((SELECT w.rotate_after_days FROM workspaces w WHERE w.id = "
        "api_keys.workspace_id), ?) * 86400000 <= ?";
  }
  sql += " ORDER BY seq DESC LIMIT ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(*seq).Bind(*seq).Bind(f.workspace_id).Bind(f.workspace_id).Bind(f.environment);
  s.Bind(f.environment);
  if (f.status && *f.status != KeyStatus::kRevoked) s.Bind(f.now);
  if (f.rotation_due) s.Bind(f.now).Bind(f.rotate_after_days).Bind(f.now);
  return ReadPage<ApiKey>(db_, s, page.limit, RowToKey, [](const ApiKey& k) { return k.id; });
}

Status SqliteStore::UpdateKey(const ApiKey& k, int64_t max_active, Timestamp now,
                              const AuditEntry& audit, bool* stale) {
  *stale = false;
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  auto current = GetKeyLocked(k.id);
  if (!current.ok()) return current.status();
  const auto reads = MakeReads(db_, nullptr, [&]() NO_THREAD_SAFETY_ANALYSIS {
    return CountActiveKeysLocked(k.workspace_id, now);
  });
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckKeyUpdate(*current, k, max_active, now, reads, stale));
  Stmt s(db_,
         "UPDATE api_keys SET name = ?, scopes = ?, ip_allowlist = ?, referrer_allowlist = ?, "
         "endpoint_allowlist = ?, rate_limit_limit = ?, rate_limit_period = ?, meta = ?, "
         "disabled = ?, disabled_by = ?, expires_at = ?, credits_remaining = ?, "
         "credits_set_at = ?, credits_refill_amount = ?, credits_refill_interval = ?, "
         "credits_refill_day = ?, version = version + 1 WHERE id = ? AND revoked_at IS NULL");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindKeyUpdate(s, k);
  s.Bind(k.id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  KEYWARD_RETURN_IF_ERROR(LogKeyChangeLocked(current->hash, audit.at));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<ApiKey> SqliteStore::RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                                      std::string_view reason, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  auto current = GetKeyLocked(id);
  if (!current.ok() || current->revoked_at) return current;
  Stmt s(db_,
         "UPDATE api_keys SET revoked_at = ?, revoked_by = ?, revoked_reason = ?, "
         "version = version + 1 WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(at).Bind(by).Bind(reason).Bind(id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  KEYWARD_RETURN_IF_ERROR(LogKeyChangeLocked(current->hash, at));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  KEYWARD_RETURN_IF_ERROR(tx.Commit());
  store_rules::MarkRevoked(&*current, at, by, reason);
  return current;
}

Status SqliteStore::RotateKey(const ApiKey& replacement, std::string_view old_id,
                              Timestamp old_expires_at, int64_t max_active, Timestamp now,
                              const AuditEntry& audit, bool* stale) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  auto old = GetKeyLocked(old_id);
  if (!old.ok()) return old.status();
  const auto reads = MakeReads(
      db_, [&](std::string_view id) NO_THREAD_SAFETY_ANALYSIS { return GetKeyLocked(id); },
      [&]() NO_THREAD_SAFETY_ANALYSIS { return CountActiveKeysLocked(old->workspace_id, now); });
  KEYWARD_RETURN_IF_ERROR(
      store_rules::CheckRotation(*old, replacement, old_expires_at, max_active, now, reads, stale));
  Stmt s(db_, "UPDATE api_keys SET expires_at = ?, version = version + 1 WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(old_expires_at).Bind(old_id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  KEYWARD_RETURN_IF_ERROR(LogKeyChangeLocked(old->hash, audit.at));
  KEYWARD_RETURN_IF_ERROR(InsertKeyLocked(replacement));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Status SqliteStore::TouchKeysLocked(
    const std::vector<std::pair<std::string, Timestamp>>& last_used) {
  Stmt s(db_,
         "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2 "
         "AND (last_used_at IS NULL OR last_used_at < ?1)");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  for (const auto& [id, at] : last_used) {
    s.Reset();
    s.Bind(at).Bind(id);
    KEYWARD_RETURN_IF_ERROR(s.Run());
  }
  return Status::Ok();
}

// ---- Audit ----

Result<Page<AuditEntry>> SqliteStore::ListAudit(const AuditFilter& f, const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(CheckLimit(page.limit));
  MutexLock lock(&mu_);
  auto seq = CursorSeq(db_, "audit_log", page.cursor,
                       {{"workspace_id", f.workspace_id},
                        {"target", f.target},
                        {"actor", f.actor},
                        {"action", f.action}});
  if (!seq.ok()) return seq.status();
  Stmt s(db_,
         "SELECT id, at, actor, action, target, workspace_id, ip, details FROM audit_log "
         "WHERE (? = 0 OR seq < ?) AND (? = '' OR workspace_id = ?) AND (? = '' OR target = ?) "
         "AND (? = '' OR actor = ?) AND (? = '' OR action = ?) ORDER BY seq DESC LIMIT ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(*seq).Bind(*seq).Bind(f.workspace_id).Bind(f.workspace_id).Bind(f.target).Bind(f.target);
  s.Bind(f.actor).Bind(f.actor).Bind(f.action).Bind(f.action);
  return ReadPage<AuditEntry>(db_, s, page.limit, RowToAudit,
                              [](const AuditEntry& e) { return e.id; });
}

}  // namespace keyward
