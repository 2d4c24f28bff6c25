// The PostgreSQL engine's usage counters (upserts that add, so flushes from
// many nodes sum, with the credits they spent), the export per day, and the
// key change log that other nodes follow.
// Thread-safe: each call on a pooled connection of its own.
#include <algorithm>
#include <map>
#include <tuple>

#include "store/postgres/pg_queries.h"
#include "store/postgres/pg_store.h"
#include "store/rules.h"

namespace keyward {

using namespace pg_internal;  // NOLINT: the engine's own helpers

Status PgStore::RecordUsage(const UsageBatch& batch) {
  // A batch with only a node id still renews the node's leases.
  if (batch.empty() && batch.node_id.empty()) return Status::Ok();
  // One row per counter (an upsert may touch a row once), in key order so
  // that nodes flushing at once lock rows in the same order.
  struct Counter {
    std::string workspace_id;
    int64_t count = 0;
    int64_t credits = 0;
  };
  std::map<std::tuple<std::string, int64_t, std::string>, Counter> rows;
  for (const auto& r : batch.rows) {
    auto& slot = rows[{r.key_id, r.minute, std::string(CodeName(r.code))}];
    slot.workspace_id = r.workspace_id;
    slot.count += r.count;
    slot.credits += r.credits;
  }
  std::vector<std::string> key_ids, workspace_ids, codes;
  std::vector<int64_t> minutes, counts, credits;
  for (const auto& [k, v] : rows) {
    key_ids.push_back(std::get<0>(k));
    minutes.push_back(std::get<1>(k));
    codes.push_back(std::get<2>(k));
    workspace_ids.push_back(v.workspace_id);
    counts.push_back(v.count);
    credits.push_back(v.credits);
  }
  std::map<std::string, Timestamp> last_used;
  for (const auto& [id, at] : batch.last_used) {
    auto& t = last_used[id];
    t = std::max(t, at);
  }
  std::vector<std::string> used_ids;
  std::vector<int64_t> used_at;
  for (const auto& [id, at] : last_used) {
    used_ids.push_back(id);
    used_at.push_back(at);
  }
  return Transact([&](PgConnection& c) -> Status {
    if (!key_ids.empty()) {
      KEYWARD_RETURN_IF_ERROR(c.Exec(
          "INSERT INTO usage (key_id, workspace_id, minute, code, count, credits) "
          "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], "
          "$6::bigint[]) ON CONFLICT (key_id, minute, code) DO UPDATE SET "
          "count = usage.count + excluded.count, credits = usage.credits + excluded.credits",
          Params()
              .Bind(ArrayLiteral(key_ids))
              .Bind(ArrayLiteral(workspace_ids))
              .Bind(IntArrayLiteral(minutes))
              .Bind(ArrayLiteral(codes))
              .Bind(IntArrayLiteral(counts))
              .Bind(IntArrayLiteral(credits))));
    }
    if (!used_ids.empty()) {
      // Rows locked in id order, as every node does: two flushes never
      // wait on each other in a circle.
      KEYWARD_RETURN_IF_ERROR(
          c.Exec("SELECT 1 FROM api_keys WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
                 Params().Bind(ArrayLiteral(used_ids))));
      KEYWARD_RETURN_IF_ERROR(
          c.Exec("UPDATE api_keys AS k SET last_used_at = v.at "
                 "FROM unnest($1::text[], $2::bigint[]) AS v (id, at) "
                 "WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.at)",
                 Params().Bind(ArrayLiteral(used_ids)).Bind(IntArrayLiteral(used_at))));
    }
    return RecordCredits(c, batch);
  });
}

Result<std::vector<UsagePoint>> PgStore::QueryUsage(const UsageQuery& q) {
  std::vector<UsagePoint> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    Builder b;
    const std::string bucket = b.Arg(std::max<int64_t>(q.bucket_minutes, 1));
    const std::string ws = b.Arg(q.workspace_id);
    std::string sql =
        "SELECT (minute / " + bucket + "::bigint) * " + bucket +
        "::bigint AS bucket, code, SUM(count)::bigint, SUM(credits)::bigint FROM usage "
        "WHERE workspace_id "
        "= " +
        ws + " AND minute >= " + b.Arg(q.from_minute) + " AND minute < " + b.Arg(q.to_minute);
    if (!q.key_id.empty()) sql += " AND key_id = " + b.Arg(q.key_id);
    if (!q.environment.empty()) {
      sql += " AND key_id IN (SELECT id FROM api_keys WHERE workspace_id = " + ws +
             " AND environment = " + b.Arg(q.environment) + ")";
    }
    sql += " GROUP BY bucket, code ORDER BY bucket, code";
    auto rows = c.Query(sql.c_str(), b.params);
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      const Row r = rows->row(i);
      const auto code = CodeFromName(r.Text(1));
      if (!code) continue;
      out.push_back({r.Int(0), *code, r.Int(2), r.Int(3)});
    }
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<UsageExportRow>> PgStore::ExportUsage(const UsageExportQuery& q) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(q.limit));
  constexpr int64_t kMinutesPerDay = 24 * 60;
  // Resuming starts the minute range at the cursor's day: the scan of
  // usage_by_workspace (workspace_id, minute) skips the pages already read.
  const bool resume = !q.after_key_id.empty();
  const int64_t from_day = resume ? std::max(q.from_day, q.after_day) : q.from_day;
  std::vector<UsageExportRow> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    Builder b;
    std::string sql =
        "SELECT day, key_id, code, environment, count, credits FROM (SELECT u.minute / 1440 AS "
        "day, u.key_id, u.code, COALESCE(k.environment, '') AS environment, "
        "SUM(u.count)::bigint AS count, SUM(u.credits)::bigint AS credits FROM usage AS u "
        "LEFT JOIN api_keys AS k ON k.id = u.key_id WHERE u.workspace_id = " +
        b.Arg(q.workspace_id) + " AND u.minute >= " + b.Arg(from_day * kMinutesPerDay) +
        " AND u.minute < " + b.Arg(q.to_day * kMinutesPerDay);
    if (!q.environment.empty()) sql += " AND k.environment = " + b.Arg(q.environment);
    sql += " GROUP BY u.minute / 1440, u.key_id, u.code, k.environment) AS g";
    // Byte order for ids and codes, as SQLite sorts: the same pages on
    // either engine, whatever the database's collation.
    if (resume) {
      sql += " WHERE (day, key_id COLLATE \"C\", code COLLATE \"C\") > (" + b.Arg(q.after_day) +
             "::bigint, " + b.Arg(q.after_key_id) + "::text, " + b.Arg(q.after_code) + "::text)";
    }
    sql += " ORDER BY day, key_id COLLATE \"C\", code COLLATE \"C\" LIMIT " +
           b.Arg(static_cast<int64_t>(q.limit));
    auto rows = c.Query(sql.c_str(), b.params);
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      const Row r = rows->row(i);
      const auto code = CodeFromName(r.Text(2));
      if (!code) continue;
      out.push_back({r.Int(0), r.Text(1), r.Text(3), *code, r.Int(4), r.Int(5)});
    }
    return Status::Ok();
  }));
  return out;
}

Result<std::unordered_map<std::string, RequestCounts>> PgStore::CountRequests(
    const std::vector<std::string>& key_ids, int64_t now_minute) {
  std::unordered_map<std::string, RequestCounts> out;
  if (key_ids.empty()) return out;
  for (const auto& id : key_ids) out[id] = RequestCounts{};
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    auto rows = c.Query(
        "SELECT key_id, SUM(CASE WHEN minute >= $2 THEN count ELSE 0 END)::bigint, "
        "SUM(count)::bigint FROM usage WHERE key_id = ANY($1::text[]) AND code = 'valid' "
        "AND minute >= $3 GROUP BY key_id",
        Params()
            .Bind(ArrayLiteral(key_ids))
            .Bind(now_minute - 24 * 60)
            .Bind(now_minute - 30 * 24 * 60));
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      const Row r = rows->row(i);
      out[r.Text(0)] = RequestCounts{r.Int(1), r.Int(2)};
    }
    return Status::Ok();
  }));
  return out;
}

Status PgStore::PruneUsage(int64_t before_minute) {
  return WithConnection([&](PgConnection& c) {
    return c.Exec("DELETE FROM usage WHERE minute < $1", Params().Bind(before_minute));
  });
}

// ---- The change log ----

Result<std::vector<KeyChange>> PgStore::KeyChangesSince(int64_t seq, int limit) {
  std::vector<KeyChange> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    auto rows =
        c.Query("SELECT seq, key_hash FROM key_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                Params().Bind(seq).Bind(static_cast<int64_t>(limit)));
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      out.push_back({rows->row(i).Int(0), rows->row(i).Hash(1)});
    }
    return Status::Ok();
  }));
  return out;
}

Result<int64_t> PgStore::LatestKeyChange() {
  int64_t latest = 0;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    auto rows = c.Query("SELECT COALESCE(MAX(seq), 0) FROM key_changes");
    if (!rows.ok()) return rows.status();
    latest = rows->row(0).Int(0);
    return Status::Ok();
  }));
  return latest;
}

Status PgStore::PruneKeyChanges(Timestamp before) {
  return WithConnection([&](PgConnection& c) {
    return c.Exec("DELETE FROM key_changes WHERE at < $1", Params().Bind(before));
  });
}

}  // namespace keyward
