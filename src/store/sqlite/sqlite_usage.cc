// The SQLite engine's usage counters (KeyStore's usage methods): per key,
// minute and answer code, written in batches that add, and each key's last
// successful use. Thread-safe: under the store's connection mutex.
#include <sqlite3.h>

#include "core/mutex.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace keyward {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers

Status SqliteStore::RecordUsage(const UsageBatch& batch) {
  if (batch.empty()) return Status::Ok();
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_,
         "INSERT INTO usage (key_id, workspace_id, minute, code, count) VALUES (?, ?, ?, ?, ?) "
         "ON CONFLICT (key_id, minute, code) DO UPDATE SET count = count + excluded.count");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  for (const auto& r : batch.rows) {
    s.Reset();
    s.Bind(r.key_id).Bind(r.workspace_id).Bind(r.minute).Bind(CodeName(r.code)).Bind(r.count);
    KEYWARD_RETURN_IF_ERROR(s.Run());
  }
  KEYWARD_RETURN_IF_ERROR(TouchKeysLocked(batch.last_used));
  return tx.Commit();
}

Result<std::vector<UsagePoint>> SqliteStore::QueryUsage(const UsageQuery& q) {
  MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT (minute / ?1) * ?1 AS bucket, code, SUM(count) FROM usage "
         "WHERE workspace_id = ?2 AND (?3 = '' OR key_id = ?3) AND minute >= ?4 AND minute < ?5 "
         "AND (?6 = '' OR key_id IN (SELECT id FROM api_keys WHERE workspace_id = ?2 "
         "AND environment = ?6)) "
         "GROUP BY bucket, code ORDER BY bucket, code");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(std::max<int64_t>(q.bucket_minutes, 1)).Bind(q.workspace_id).Bind(q.key_id);
  s.Bind(q.from_minute).Bind(q.to_minute).Bind(q.environment);
  std::vector<UsagePoint> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    const auto code = CodeFromName(s.Text(1));
    if (!code) continue;
    out.push_back({s.Int(0), *code, s.Int(2)});
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read usage");
  return out;
}

Result<std::unordered_map<std::string, RequestCounts>> SqliteStore::CountRequests(
    const std::vector<std::string>& key_ids, int64_t now_minute) {
  std::unordered_map<std::string, RequestCounts> out;
  if (key_ids.empty()) return out;
  MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT SUM(CASE WHEN minute >= ?2 THEN count ELSE 0 END), SUM(count) FROM usage "
         "WHERE key_id = ?1 AND code = 'valid' AND minute >= ?3");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  for (const auto& id : key_ids) {
    s.Reset();
    s.Bind(id).Bind(now_minute - 24 * 60).Bind(now_minute - 30 * 24 * 60);
    if (s.Step() != SQLITE_ROW) return SqliteError(db_, "read usage");
    out[id] = RequestCounts{s.Int(0), s.Int(1)};
  }
  return out;
}

Status SqliteStore::PruneUsage(int64_t before_minute) {
  MutexLock lock(&mu_);
  Stmt s(db_, "DELETE FROM usage WHERE minute < ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(before_minute);
  return s.Run();
}

}  // namespace keyward
