// The SQLite engine's usage counters (KeyStore's usage methods): per key,
// minute and answer code, with the credits they spent, written in batches
// that add; each key's last successful use; and the export per day.
// Thread-safe: under the store's connection mutex.
#include <sqlite3.h>

#include <algorithm>

#include "core/mutex.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace keyward {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers

Status SqliteStore::RecordUsage(const UsageBatch& batch) {
  // A batch with only a node id still renews the node's leases.
  if (batch.empty() && batch.node_id.empty()) return Status::Ok();
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  if (!batch.rows.empty()) {
    Stmt s(db_,
           "INSERT INTO usage (key_id, workspace_id, minute, code, count, credits) "
           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key_id, minute, code) DO UPDATE SET "
           "count = count + excluded.count, credits = credits + excluded.credits");
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    for (const auto& r : batch.rows) {
      s.Reset();
      s.Bind(r.key_id).Bind(r.workspace_id).Bind(r.minute).Bind(CodeName(r.code)).Bind(r.count);
      s.Bind(r.credits);
      KEYWARD_RETURN_IF_ERROR(s.Run());
    }
  }
  KEYWARD_RETURN_IF_ERROR(TouchKeysLocked(batch.last_used));
  KEYWARD_RETURN_IF_ERROR(RecordCreditsLocked(batch));
  return tx.Commit();
}

Result<std::vector<UsagePoint>> SqliteStore::QueryUsage(const UsageQuery& q) {
  MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT (minute / ?1) * ?1 AS bucket, code, SUM(count), SUM(credits) FROM usage "
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
    out.push_back({s.Int(0), *code, s.Int(2), s.Int(3)});
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read usage");
  return out;
}

Result<std::vector<UsageExportRow>> SqliteStore::ExportUsage(const UsageExportQuery& q) {
  KEYWARD_RETURN_IF_ERROR(CheckLimit(q.limit));
  constexpr int64_t kMinutesPerDay = 24 * 60;
  // Resuming starts the minute range at the cursor's day: the scan of
  // usage_by_workspace (workspace_id, minute) skips the pages already read.
  const bool resume = !q.after_key_id.empty();
  const int64_t from_day = resume ? std::max(q.from_day, q.after_day) : q.from_day;
  MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT u.minute / ?1 AS day, u.key_id, u.code, COALESCE(k.environment, ''), "
         "SUM(u.count), SUM(u.credits) FROM usage AS u LEFT JOIN api_keys AS k ON k.id = u.key_id "
         "WHERE u.workspace_id = ?2 AND u.minute >= ?3 AND u.minute < ?4 "
         "AND (?5 = '' OR k.environment = ?5) "
         "GROUP BY day, u.key_id, u.code "
         "HAVING ?6 = 0 OR (day, u.key_id, u.code) > (?7, ?8, ?9) "
         "ORDER BY day, u.key_id, u.code LIMIT ?10");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(kMinutesPerDay).Bind(q.workspace_id).Bind(from_day * kMinutesPerDay);
  s.Bind(q.to_day * kMinutesPerDay).Bind(q.environment).Bind(int64_t{resume ? 1 : 0});
  s.Bind(q.after_day).Bind(q.after_key_id).Bind(q.after_code).Bind(static_cast<int64_t>(q.limit));
  std::vector<UsageExportRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    const auto code = CodeFromName(s.Text(2));
    if (!code) continue;
    out.push_back({s.Int(0), s.Text(1), s.Text(3), *code, s.Int(4), s.Int(5)});
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
