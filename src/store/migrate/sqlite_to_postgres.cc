#include "store/migrate/sqlite_to_postgres.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <filesystem>

#include "core/sha256.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace keyward {
namespace {

using pg_internal::PgConnection;

// Every table, in an order that keeps references whole, with the columns
// both engines share (SQLite's schema at its latest version).
struct TableSpec {
  const char* name;
  const char* columns;
  bool identity;  // has a seq column whose sequence must follow the copy
};
// Credit leases are left behind: what the one node held lapses with it.
constexpr TableSpec kTables[] = {
    {"plans",
     "id, name, monthly_credits, rate_limit_limit, rate_limit_period, max_active_keys, "
     "cost_rules, from_config, created_at, updated_at",
     false},
    {"workspaces",
     "seq, id, name, max_active_keys, created_at, plan_id, monthly_credits, rate_limit_limit, "
     "rate_limit_period, billing_anchor_day, rotate_after_days",
     true},
    {"api_keys",
     "seq, id, hash, short_prefix, workspace_id, environment, name, scopes, ip_allowlist, "
     "referrer_allowlist, endpoint_allowlist, rate_limit_limit, rate_limit_period, meta, "
     "created_at, created_by, expires_at, last_used_at, revoked_at, revoked_by, revoked_reason, "
     "disabled, rotated_from, disabled_by, lineage_id, version, credits_remaining, "
     "credits_set_at, credits_refill_amount, credits_refill_interval, credits_refill_day",
     true},
    {"root_keys", "seq, id, hash, short_prefix, name, created_at, created_by, revoked_at", true},
    {"audit_log", "seq, id, at, actor, action, target, workspace_id, ip, details", true},
    {"key_changes", "seq, key_hash, at", true},
    {"usage", "key_id, workspace_id, minute, code, count, credits", false},
    {"credit_balances", "balance, period_start, spent", false},
    {"credit_thresholds", "balance, period_start, threshold, at", false},
    {"portal_sessions",
     "seq, id, workspace_id, environment, permissions, scopes, return_url, member_id, "
     "member_name, member_email, actor, code_hash, created_at, created_by, code_expires_at, "
     "code_used_at, ended_at",
     true},
    {"web_sessions",
     "token_hash, kind, portal_session_id, root_key_id, created_at, expires_at, ended_at, ip",
     false},
    {"webhook_endpoints",
     "id, workspace_id, url, events, description, enabled, disabled_reason, secret, "
     "previous_secret, previous_secret_expires_at, created_at, updated_at, version",
     false},
    // seq copied as it is: deliveries name their event by it.
    {"webhook_events", "seq, id, type, workspace_id, created_at, payload, dedupe_key, fanned_out",
     true},
    {"webhook_deliveries",
     "id, endpoint_id, event_seq, status, attempts, next_attempt_at, last_attempt_at, "
     "response_status, latency_ms, error, manual, claim_id, claimed_until, created_at",
     false},
};

constexpr char kHex[] = "0123456789abcdef";

// One SQLite value in COPY's text format.
void AppendCopyValue(sqlite3_stmt* s, int col, std::string* out) {
  switch (sqlite3_column_type(s, col)) {
    case SQLITE_NULL:
      *out += "\\N";
      return;
    case SQLITE_INTEGER:
      *out += std::to_string(sqlite3_column_int64(s, col));
      return;
    case SQLITE_BLOB: {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, col));
      const int n = sqlite3_column_bytes(s, col);
      *out += "\\\\x";  // COPY unescapes \\ to \, and bytea reads \x<hex>
      for (int i = 0; i < n; ++i) {
        *out += kHex[p[i] >> 4];
        *out += kHex[p[i] & 15];
      }
      return;
    }
    default: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
      const int n = sqlite3_column_bytes(s, col);
      for (int i = 0; i < n; ++i) {
        switch (p[i]) {
          case '\\':
            *out += "\\\\";
            break;
          case '\n':
            *out += "\\n";
            break;
          case '\r':
            *out += "\\r";
            break;
          case '\t':
            *out += "\\t";
            break;
          default:
            *out += p[i];
        }
      }
    }
  }
}

class Source {
 public:
  ~Source() { sqlite3_close_v2(db_); }
  Status Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      return Status::Unavailable("cannot open " + path + ": " + sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, 5000);
    return Status::Ok();
  }
  Result<int64_t> Count(const char* table) {
    const std::string sql = std::string("SELECT COUNT(*) FROM ") + table;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
      sqlite3_finalize(s);
      return Status::Internal(std::string("cannot count ") + table + ": " + sqlite3_errmsg(db_));
    }
    const int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  }
  // Every key hash (API keys by id, then root keys by id), run through SHA-256.
  Result<std::string> KeyHashDigest() {
    std::string all;
    for (const char* sql :
         {"SELECT hash FROM api_keys ORDER BY id", "SELECT hash FROM root_keys ORDER BY id"}) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
        return Status::Internal(std::string("cannot read key hashes: ") + sqlite3_errmsg(db_));
      }
      while (sqlite3_step(s) == SQLITE_ROW) {
        all.append(static_cast<const char*>(sqlite3_column_blob(s, 0)),
                   static_cast<size_t>(sqlite3_column_bytes(s, 0)));
      }
      sqlite3_finalize(s);
    }
    return ToHex(Sha256(all));
  }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

Result<int64_t> TargetCount(PgConnection& c, const char* table) {
  auto rows = c.Query((std::string("SELECT COUNT(*) FROM ") + table).c_str());
  if (!rows.ok()) return rows.status();
  return rows->row(0).Int(0);
}

Result<std::string> TargetKeyHashDigest(PgConnection& c) {
  std::string all;
  for (const char* sql : {"SELECT hash FROM api_keys ORDER BY id COLLATE \"C\"",
                          "SELECT hash FROM root_keys ORDER BY id COLLATE \"C\""}) {
    auto rows = c.Query(sql);
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      const KeyHash h = rows->row(i).Hash(0);
      all.append(reinterpret_cast<const char*>(h.data()), h.size());
    }
  }
  return ToHex(Sha256(all));
}

// Compares what the target holds with the source: the same counts in every
// table and the same key hashes. The first difference, or Ok.
Status Compare(Source& src, PgConnection& c, const std::string& source_digest,
               MigrationReport* report) {
  report->tables.clear();
  for (const TableSpec& t : kTables) {
    auto from = src.Count(t.name);
    if (!from.ok()) return from.status();
    auto to = TargetCount(c, t.name);
    if (!to.ok()) return to.status();
    if (*from != *to) {
      return Status::Internal(std::string(t.name) + ": " + std::to_string(*from) +
                              " rows in SQLite, " + std::to_string(*to) + " in PostgreSQL");
    }
    report->tables.push_back({t.name, *from});
  }
  auto digest = TargetKeyHashDigest(c);
  if (!digest.ok()) return digest.status();
  if (*digest != source_digest) {
    return Status::Internal("the key hashes differ (SHA-256 over all of them: " + source_digest +
                            " in SQLite, " + *digest + " in PostgreSQL)");
  }
  report->key_hash_digest = source_digest;
  return Status::Ok();
}

Status CopyTable(Source& src, PgConnection& c, const TableSpec& t, int64_t total,
                 const MigrationOptions& options) {
  const std::string copy = std::string("COPY ") + t.name + " (" + t.columns + ") FROM STDIN";
  PGresult* res = PQexec(c.raw(), copy.c_str());
  if (PQresultStatus(res) != PGRES_COPY_IN) {
    std::string why = PQresultErrorMessage(res);
    PQclear(res);
    return Status::Unavailable(std::string("cannot copy ") + t.name + ": " + why);
  }
  PQclear(res);
  const std::string select = std::string("SELECT ") + t.columns + " FROM " + t.name;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(src.db(), select.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    PQputCopyEnd(c.raw(), "cannot read the source");
    PQclear(PQgetResult(c.raw()));
    return Status::Internal(std::string("cannot read ") + t.name + ": " + sqlite3_errmsg(src.db()));
  }
  const int columns = sqlite3_column_count(s);
  std::string buf;
  int64_t done = 0;
  bool sent = true;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    for (int i = 0; i < columns; ++i) {
      if (i) buf += '\t';
      AppendCopyValue(s, i, &buf);
    }
    buf += '\n';
    ++done;
    if (buf.size() > (1 << 20)) {
      sent = PQputCopyData(c.raw(), buf.data(), static_cast<int>(buf.size())) == 1;
      buf.clear();
      if (!sent) break;
    }
    if (options.progress && done % 10000 == 0) options.progress(t.name, done, total);
  }
  sqlite3_finalize(s);
  if (sent && !buf.empty()) {
    sent = PQputCopyData(c.raw(), buf.data(), static_cast<int>(buf.size())) == 1;
  }
  const bool read_all = rc == SQLITE_DONE;
  PQputCopyEnd(c.raw(), sent && read_all ? nullptr : "the source could not be read to its end");
  res = PQgetResult(c.raw());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string why = ok ? "" : PQresultErrorMessage(res);
  PQclear(res);
  while ((res = PQgetResult(c.raw())) != nullptr) PQclear(res);
  if (!ok) return Status::Unavailable(std::string("cannot copy ") + t.name + ": " + why);
  if (options.progress) options.progress(t.name, done, total);
  if (t.identity) {
    // New rows made by the cluster continue after the copied ones.
    const std::string setval = std::string("SELECT setval(pg_get_serial_sequence('") + t.name +
                               "', 'seq'), COALESCE(MAX(seq), 1), MAX(seq) IS NOT NULL) FROM " +
                               t.name;
    KEYWARD_RETURN_IF_ERROR(c.Exec(setval.c_str()));
  }
  return Status::Ok();
}

}  // namespace

Result<MigrationReport> MigrateSqliteToPostgres(const MigrationOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(options.sqlite_path, ec)) {
    return Status::InvalidRequest("no keyward database at " + options.sqlite_path +
                                  " (give --from the data directory of a keyward that ran)");
  }
  {
    // Brings an older SQLite file to the schema this build copies.
    auto sqlite = SqliteStore::Open(options.sqlite_path);
    if (!sqlite.ok()) return sqlite.status();
  }
  // The target's schema, made (or checked) by the engine itself.
  {
    auto target = PgStore::Open(options.postgres, 1);
    if (!target.ok()) return target.status();
  }
  Source src;
  KEYWARD_RETURN_IF_ERROR(src.Open(options.sqlite_path));
  auto digest = src.KeyHashDigest();
  if (!digest.ok()) return digest.status();

  auto info = pg_internal::ParseConnInfo(options.postgres);
  if (!info.ok()) return info.status();
  auto conn = PgConnection::Connect(*info);
  if (!conn.ok()) return conn.status();
  PgConnection& c = **conn;

  MigrationReport report;
  int64_t held = 0;
  for (const TableSpec& t : kTables) {
    auto n = TargetCount(c, t.name);
    if (!n.ok()) return n.status();
    held += *n;
  }
  if (held > 0) {
    // Run before: the same data is a success with nothing to do; anything
    // else is someone's data, never merged.
    if (Compare(src, c, *digest, &report).ok()) {
      report.already_done = true;
      return report;
    }
    return Status::InvalidRequest(
        "the target database already holds other data (" + std::to_string(held) +
        " rows; a node may have started on it); migrate into an empty database, before any "
        "node starts on it");
  }

  KEYWARD_RETURN_IF_ERROR(c.Exec("BEGIN"));
  Status copied = [&]() -> Status {
    // No node may write while the copy is under way.
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("LOCK TABLE plans, workspaces, api_keys, root_keys, audit_log, key_changes, usage, "
               "credit_balances, credit_thresholds, credit_leases, portal_sessions, web_sessions, "
               "webhook_endpoints, webhook_events, webhook_deliveries IN EXCLUSIVE MODE"));
    for (const TableSpec& t : kTables) {
      auto total = src.Count(t.name);
      if (!total.ok()) return total.status();
      KEYWARD_RETURN_IF_ERROR(CopyTable(src, c, t, *total, options));
    }
    return Compare(src, c, *digest, &report);
  }();
  if (!copied.ok()) {
    (void)c.Exec("ROLLBACK");
    return copied;
  }
  KEYWARD_RETURN_IF_ERROR(c.Exec("COMMIT"));
  return report;
}

}  // namespace keyward
