#include "store/postgres/pg_queries.h"

namespace keyward {
namespace pg_internal {

using store_rules::kKeyColumns;

std::string Sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

std::string Numbered(std::string_view sql, int first) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = first;
  for (char ch : sql) {
    if (ch == '?') {
      out += '$' + std::to_string(n++);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string ArrayLiteral(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string IntArrayLiteral(const std::vector<int64_t>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  out += '}';
  return out;
}

std::string HashArrayLiteral(const std::vector<KeyHash>& v) {
  // Each as a bytea parameter is written (\x and hex digits).
  Params p;
  for (const KeyHash& h : v) p.Bind(h);
  std::vector<std::string> text;
  text.reserve(v.size());
  for (const auto& value : p.values()) text.push_back(value.value_or(""));
  return ArrayLiteral(text);
}

Status LogKeyChange(PgConnection& c, const KeyHash& hash, Timestamp at) {
  KEYWARD_RETURN_IF_ERROR(
      c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Bind(kChangeLogLock)));
  KEYWARD_RETURN_IF_ERROR(c.Exec("INSERT INTO key_changes (key_hash, at) VALUES ($1, $2)",
                                 Params().Bind(hash).Bind(at)));
  return c.Exec("SELECT pg_notify($1, '')", Params().Bind(kChannel));
}

Status LogKeyChanges(PgConnection& c, const std::vector<KeyHash>& hashes, Timestamp at) {
  if (hashes.empty()) return Status::Ok();
  KEYWARD_RETURN_IF_ERROR(
      c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Bind(kChangeLogLock)));
  KEYWARD_RETURN_IF_ERROR(
      c.Exec("INSERT INTO key_changes (key_hash, at) SELECT h, $2 "
             "FROM unnest($1::bytea[]) WITH ORDINALITY AS t (h, n) ORDER BY n",
             Params().Bind(HashArrayLiteral(hashes)).Bind(at)));
  return c.Exec("SELECT pg_notify($1, '')", Params().Bind(kChannel));
}

Status InsertWebhookEvent(PgConnection& c, const WebhookEvent& e, bool* inserted) {
  auto rows = c.Query(
      "INSERT INTO webhook_events (id, type, workspace_id, created_at, payload, dedupe_key) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
      Params()
          .Bind(e.id)
          .Bind(e.type)
          .Bind(e.workspace_id)
          .Bind(e.created_at)
          .Bind(e.payload)
          .BindNullableText(e.dedupe_key));
  if (!rows.ok()) return rows.status();
  if (inserted != nullptr) *inserted = rows->affected() > 0;
  return Status::Ok();
}

Status InsertKeyRow(PgConnection& c, const ApiKey& k) {
  Params p;
  store_rules::BindKeyInsert(p, k);
  const std::string sql = Sql({"INSERT INTO api_keys (", store_rules::kKeyInsertColumns,
                               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                               "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"});
  KEYWARD_RETURN_IF_ERROR(c.Exec(sql.c_str(), p));
  return LogKeyChange(c, k.hash, k.created_at);
}

Result<ApiKey> ReadKey(PgConnection& c, std::string_view id, const char* lock) {
  const std::string sql = Sql({"SELECT ", kKeyColumns, " FROM api_keys WHERE id = $1", lock});
  return One<ApiKey>(
      c.Query(sql.c_str(), Params().Bind(id)),
      [](const Row& r) { return store_rules::KeyFromRow(r); }, "no API key " + std::string(id));
}

Result<int64_t> CountActive(PgConnection& c, std::string_view workspace_id, Timestamp now) {
  auto rows = c.Query(
      "SELECT COUNT(*) FROM api_keys WHERE workspace_id = $1 AND revoked_at IS NULL "
      "AND (expires_at IS NULL OR expires_at > $2)",
      Params().Bind(workspace_id).Bind(now));
  if (!rows.ok()) return rows.status();
  return rows->row(0).Int(0);
}

// Locks the workspace's row: key counts then hold until commit, on every node.
Status LockWorkspace(PgConnection& c, std::string_view workspace_id) {
  auto rows =
      c.Query("SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE", Params().Bind(workspace_id));
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return Status::NotFound("no workspace " + std::string(workspace_id));
  return Status::Ok();
}

Status CheckPlan(PgConnection& c, const std::string& plan_id) {
  if (plan_id.empty()) return Status::Ok();
  auto rows = c.Query("SELECT 1 FROM plans WHERE id = $1 FOR KEY SHARE", Params().Bind(plan_id));
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return store_rules::NoSuchPlan(plan_id);
  return Status::Ok();
}

store_rules::Reads ReadsOn(PgConnection& c, std::string workspace_id, Timestamp now) {
  store_rules::Reads r;
  r.heir_of = [&c](std::string_view id) -> Result<std::optional<std::string>> {
    auto rows =
        c.Query("SELECT id FROM api_keys WHERE rotated_from = $1 LIMIT 1", Params().Bind(id));
    if (!rows.ok()) return rows.status();
    if (rows->rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(rows->row(0).Text(0));
  };
  r.get_key = [&c](std::string_view id) { return ReadKey(c, id); };
  r.count_active = [&c, ws = std::move(workspace_id), now]() -> Result<int64_t> {
    KEYWARD_RETURN_IF_ERROR(LockWorkspace(c, ws));
    return CountActive(c, ws, now);
  };
  return r;
}

Result<int64_t> CursorSeq(PgConnection& c, const char* table, const std::string& cursor,
                          std::initializer_list<CursorScope> scope) {
  if (cursor.empty()) return int64_t{0};
  Builder b;
  std::string sql = Sql({"SELECT seq FROM ", table, " WHERE id = "}) + b.Arg(cursor);
  for (const auto& s : scope) {
    if (!s.value.empty()) sql += Sql({" AND ", s.column, " = "}) + b.Arg(s.value);
  }
  auto rows = c.Query(sql.c_str(), b.params);
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) {
    return Status::InvalidRequest("cursor \"" + cursor + "\" is not from this list");
  }
  return rows->row(0).Int(0);
}

}  // namespace pg_internal
}  // namespace keyward
