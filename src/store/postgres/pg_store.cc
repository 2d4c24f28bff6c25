#include "store/postgres/pg_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "store/postgres/pg_migrations.h"
#include "store/rules.h"

namespace keyward {
namespace {

using namespace pg_internal;  // NOLINT: the engine's own helpers
using store_rules::kAuditColumns;
using store_rules::kKeyColumns;
using store_rules::kRootKeyColumns;
using store_rules::kWorkspaceColumns;
using store_rules::ToJsonArray;

// Advisory lock ids (any fixed 64-bit numbers that nothing else uses).
constexpr int64_t kMigrationLock = 0x6b6579776172'01;  // "keywar" 01
constexpr int64_t kChangeLogLock = 0x6b6579776172'02;  // appends to key_changes
constexpr int64_t kFirstRootKeyLock = 0x6b6579776172'03;
constexpr const char* kChannel = "keyward_key_changes";
constexpr int kMaxTries = 8;

std::string Sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

// Statement text with numbered parameters added as they are written.
class Builder {
 public:
  // "$n" for v, appended to the parameters.
  template <typename T>
  std::string Arg(const T& v) {
    params.Add(v);
    return "$" + std::to_string(params.values().size());
  }
  Params params;
};

// {"a","b"}: a text[] literal.
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

template <typename T, typename Read>
Result<T> One(Result<PgRows> rows, Read read, const std::string& missing) {
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return Status::NotFound(missing);
  return read(rows->row(0));
}

}  // namespace

Status PgStore::InsertAudit(PgConnection& c, const AuditEntry& e) {
  Params p;
  p.Add(e.id).Add(e.at).Add(e.actor).Add(e.action).Add(e.target).Add(e.workspace_id).Add(e.ip);
  p.Add(e.details_json);
  return c.Exec(
      "INSERT INTO audit_log (id, at, actor, action, target, workspace_id, ip, details) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      p);
}

namespace {

// Appends to the change log and tells listening nodes, in the caller's
// transaction. The advisory lock, held to commit, makes sequences commit in
// the order they are handed out (the contract's ordered change log).
Status LogKeyChange(PgConnection& c, const KeyHash& hash, Timestamp at) {
  KEYWARD_RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Add(kChangeLogLock)));
  KEYWARD_RETURN_IF_ERROR(
      c.Exec("INSERT INTO key_changes (key_hash, at) VALUES ($1, $2)", Params().Add(hash).Add(at)));
  return c.Exec("SELECT pg_notify($1, '')", Params().Add(kChannel));
}

Status InsertKeyRow(PgConnection& c, const ApiKey& k) {
  Params p;
  p.Add(k.id).Add(k.hash).Add(k.short_prefix).Add(k.workspace_id).Add(k.environment);
  p.Add(k.name).Add(ToJsonArray(k.scopes)).Add(ToJsonArray(k.ip_allowlist));
  p.Add(ToJsonArray(k.referrer_allowlist)).Add(ToJsonArray(k.endpoint_allowlist));
  p.Add(k.rate_limit ? std::optional<int64_t>(k.rate_limit->limit) : std::nullopt);
  p.Add(k.rate_limit ? std::optional<int64_t>(k.rate_limit->period_seconds) : std::nullopt);
  p.Add(k.meta_json).Add(k.created_at).Add(k.created_by).Add(k.expires_at);
  p.Add(int64_t{k.disabled ? 1 : 0}).AddNullableText(k.rotated_from);
  p.AddNullableText(k.disabled_by).AddNullableText(k.lineage_id);
  KEYWARD_RETURN_IF_ERROR(c.Exec(
      "INSERT INTO api_keys (id, hash, short_prefix, workspace_id, environment, name, scopes, "
      "ip_allowlist, referrer_allowlist, endpoint_allowlist, rate_limit_limit, "
      "rate_limit_period, meta, created_at, created_by, expires_at, disabled, rotated_from, "
      "disabled_by, lineage_id) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
      "$19, $20)",
      p));
  return LogKeyChange(c, k.hash, k.created_at);
}

// lock: " FOR UPDATE" to hold the row until the transaction ends.
Result<ApiKey> ReadKey(PgConnection& c, std::string_view id, const char* lock = "") {
  const std::string sql = Sql({"SELECT ", kKeyColumns, " FROM api_keys WHERE id = $1", lock});
  return One<ApiKey>(
      c.Query(sql.c_str(), Params().Add(id)),
      [](const Row& r) { return store_rules::KeyFromRow(r); }, "no API key " + std::string(id));
}

Result<int64_t> CountActive(PgConnection& c, std::string_view workspace_id, Timestamp now) {
  auto rows = c.Query(
      "SELECT COUNT(*) FROM api_keys WHERE workspace_id = $1 AND revoked_at IS NULL "
      "AND (expires_at IS NULL OR expires_at > $2)",
      Params().Add(workspace_id).Add(now));
  if (!rows.ok()) return rows.status();
  return rows->row(0).Int(0);
}

// Locks the workspace's row: key counts then hold until commit, on every node.
Status LockWorkspace(PgConnection& c, std::string_view workspace_id) {
  auto rows =
      c.Query("SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE", Params().Add(workspace_id));
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return Status::NotFound("no workspace " + std::string(workspace_id));
  return Status::Ok();
}

store_rules::Reads ReadsOn(PgConnection& c, std::string workspace_id, Timestamp now) {
  store_rules::Reads r;
  r.heir_of = [&c](std::string_view id) -> Result<std::optional<std::string>> {
    auto rows =
        c.Query("SELECT id FROM api_keys WHERE rotated_from = $1 LIMIT 1", Params().Add(id));
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

// The position of a cursor in its list, as store/sqlite's CursorSeq.
struct CursorScope {
  const char* column;
  std::string_view value;
};
Result<int64_t> CursorSeq(PgConnection& c, const char* table, const std::string& cursor,
                          std::initializer_list<CursorScope> scope = {}) {
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

// Runs a page query ending in "LIMIT " (the limit is appended here), one row
// past the page to know whether another follows.
template <typename T, typename Read, typename IdOf>
Result<Page<T>> ReadPage(PgConnection& c, Builder& b, std::string sql, int limit, Read read,
                         IdOf id_of) {
  sql += b.Arg(static_cast<int64_t>(limit) + 1);
  auto rows = c.Query(sql.c_str(), b.params);
  if (!rows.ok()) return rows.status();
  Page<T> page;
  for (int i = 0; i < rows->rows(); ++i) page.items.push_back(read(rows->row(i)));
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.pop_back();
    page.next_cursor = id_of(page.items.back());
  }
  return page;
}

}  // namespace

// ---- Opening, transactions, listening ----

Result<std::unique_ptr<PgStore>> PgStore::Open(const std::string& conninfo, int pool_size) {
  auto info = ParseConnInfo(conninfo);
  if (!info.ok()) return info.status();
  std::unique_ptr<PgStore> store(new PgStore(std::move(*info), pool_size));
  KEYWARD_RETURN_IF_ERROR(store->Migrate());
  return store;
}

PgStore::~PgStore() {
  stop_.store(true);
  if (listener_.joinable()) listener_.join();
}

int PgStore::LatestSchemaVersion() { return static_cast<int>(PostgresMigrations().size()); }

Status PgStore::WithConnection(const TxFn& fn) {
  auto lease = pool_.Acquire();
  if (!lease.ok()) return lease.status();
  return fn(**lease);
}

Status PgStore::Transact(const TxFn& fn) {
  for (int attempt = 1;; ++attempt) {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    PgConnection& c = **lease;
    Status s = c.Exec("BEGIN");
    if (s.ok()) s = fn(c);
    if (s.ok()) {
      s = c.Exec("COMMIT");
    } else {
      (void)c.Exec("ROLLBACK");
    }
    if (s.ok() || attempt >= kMaxTries || !IsRetryable(c.last_sqlstate())) return s;
  }
}

Status PgStore::Migrate() {
  auto lease = pool_.Acquire();
  if (!lease.ok()) return lease.status();
  PgConnection& c = **lease;
  // Held by this session until unlocked: other nodes wait here, then find
  // the schema current.
  KEYWARD_RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_lock($1)", Params().Add(kMigrationLock)));
  Status s = [&]() -> Status {
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("CREATE TABLE IF NOT EXISTS keyward_schema (version INTEGER NOT NULL)"));
    auto rows = c.Query("SELECT version FROM keyward_schema");
    if (!rows.ok()) return rows.status();
    int64_t current = rows->rows() ? rows->row(0).Int(0) : 0;
    const auto& migrations = PostgresMigrations();
    if (current > static_cast<int64_t>(migrations.size())) {
      return Status::Unavailable("the database has schema version " + std::to_string(current) +
                                 ", newer than this keyward (" + std::to_string(migrations.size()) +
                                 "); upgrade keyward");
    }
    for (size_t i = static_cast<size_t>(current); i < migrations.size(); ++i) {
      KEYWARD_RETURN_IF_ERROR(c.Exec("BEGIN"));
      Status step = [&]() -> Status {
        // A migration is several statements: the simple query protocol.
        PGresult* res = PQexec(c.raw(), migrations[i]);
        const bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
        std::string why = ok ? "" : (res ? PQresultErrorMessage(res) : PQerrorMessage(c.raw()));
        PQclear(res);
        if (!ok) {
          return Status::Unavailable("cannot apply migration " + std::to_string(i + 1) + ": " +
                                     why);
        }
        KEYWARD_RETURN_IF_ERROR(c.Exec("DELETE FROM keyward_schema"));
        return c.Exec("INSERT INTO keyward_schema (version) VALUES ($1)",
                      Params().Add(static_cast<int64_t>(i + 1)));
      }();
      if (!step.ok()) {
        (void)c.Exec("ROLLBACK");
        return step;
      }
      KEYWARD_RETURN_IF_ERROR(c.Exec("COMMIT"));
    }
    return Status::Ok();
  }();
  (void)c.Exec("SELECT pg_advisory_unlock($1)", Params().Add(kMigrationLock));
  return s;
}

Result<int> PgStore::SchemaVersion() {
  int version = 0;
  Status s = WithConnection([&](PgConnection& c) -> Status {
    auto rows = c.Query("SELECT version FROM keyward_schema");
    if (!rows.ok()) return rows.status();
    version = rows->rows() ? static_cast<int>(rows->row(0).Int(0)) : 0;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return version;
}

Status PgStore::Ping() {
  return WithConnection([](PgConnection& c) { return c.Exec("SELECT 1"); });
}

Status PgStore::WatchKeyChanges(std::function<void()> on_change) {
  if (listener_.joinable()) return Status::InvalidRequest("already watching key changes");
  listener_ = std::thread([this, on_change = std::move(on_change)] { ListenLoop(on_change); });
  return Status::Ok();
}

void PgStore::ListenLoop(std::function<void()> on_change) {
  std::unique_ptr<PgConnection> conn;
  while (!stop_.load()) {
    if (conn == nullptr) {
      auto c = PgConnection::Connect(pool_.info());
      if (!c.ok() || !(*c)->Exec((std::string("LISTEN ") + kChannel).c_str()).ok()) {
        for (int i = 0; i < 5 && !stop_.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        continue;
      }
      conn = std::move(*c);
      // Whatever changed while no one listened: read the log now.
      on_change();
    }
    pollfd pfd{PQsocket(conn->raw()), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 200);
    if (ready < 0) continue;
    if (ready > 0 && PQconsumeInput(conn->raw()) == 0) {
      conn.reset();  // the server went away; reconnect and catch up
      continue;
    }
    bool changed = false;
    while (PGnotify* n = PQnotifies(conn->raw())) {
      changed = true;
      PQfreemem(n);
    }
    if (changed) on_change();
    if (PQstatus(conn->raw()) != CONNECTION_OK) conn.reset();
  }
}

// ---- Audit ----

Status PgStore::AppendAudit(const AuditEntry& entry) {
  return Transact([&](PgConnection& c) { return InsertAudit(c, entry); });
}

Result<Page<AuditEntry>> PgStore::ListAudit(const AuditFilter& f, const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(page.limit));
  Result<Page<AuditEntry>> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    auto seq = CursorSeq(c, "audit_log", page.cursor,
                         {{"workspace_id", f.workspace_id},
                          {"target", f.target},
                          {"actor", f.actor},
                          {"action", f.action}});
    if (!seq.ok()) return seq.status();
    Builder b;
    std::string sql = Sql({"SELECT ", kAuditColumns, " FROM audit_log WHERE TRUE"});
    if (*seq) sql += " AND seq < " + b.Arg(*seq);
    if (!f.workspace_id.empty()) sql += " AND workspace_id = " + b.Arg(f.workspace_id);
    if (!f.target.empty()) sql += " AND target = " + b.Arg(f.target);
    if (!f.actor.empty()) sql += " AND actor = " + b.Arg(f.actor);
    if (!f.action.empty()) sql += " AND action = " + b.Arg(f.action);
    sql += " ORDER BY seq DESC LIMIT ";
    out = ReadPage<AuditEntry>(
        c, b, sql, page.limit, [](const Row& r) { return store_rules::AuditFromRow(r); },
        [](const AuditEntry& e) { return e.id; });
    return out.status();
  }));
  return out;
}

// ---- Workspaces ----

Status PgStore::CreateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    KEYWARD_RETURN_IF_ERROR(c.Exec(
        "INSERT INTO workspaces (id, name, max_active_keys, created_at) VALUES ($1, $2, $3, $4)",
        Params().Add(ws.id).Add(ws.name).Add(ws.max_active_keys).Add(ws.created_at)));
    return InsertAudit(c, audit);
  });
}

Result<Workspace> PgStore::GetWorkspace(std::string_view id) {
  Result<Workspace> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) {
    const std::string sql = Sql({"SELECT ", kWorkspaceColumns, " FROM workspaces WHERE id = $1"});
    out = One<Workspace>(
        c.Query(sql.c_str(), Params().Add(id)),
        [](const Row& r) { return store_rules::WorkspaceFromRow(r); },
        "no workspace " + std::string(id));
    return out.status().IsNotFound() ? Status::Ok() : out.status();
  }));
  return out;
}

Result<Page<Workspace>> PgStore::ListWorkspaces(const WorkspaceFilter& f, const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(page.limit));
  Result<Page<Workspace>> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    auto seq = CursorSeq(c, "workspaces", page.cursor);
    if (!seq.ok()) return seq.status();
    Builder b;
    std::string sql = Sql({"SELECT ", kWorkspaceColumns, " FROM workspaces WHERE TRUE"});
    if (*seq) sql += " AND seq < " + b.Arg(*seq);
    if (!f.query.empty()) {
      const std::string like = store_rules::ContainsPattern(f.query);
      const std::string arg = b.Arg(like);
      sql += " AND (name ILIKE " + arg + " ESCAPE '\\' OR id ILIKE " + arg + " ESCAPE '\\')";
    }
    sql += " ORDER BY seq DESC LIMIT ";
    out = ReadPage<Workspace>(
        c, b, sql, page.limit, [](const Row& r) { return store_rules::WorkspaceFromRow(r); },
        [](const Workspace& w) { return w.id; });
    return out.status();
  }));
  return out;
}

Status PgStore::UpdateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    auto rows = c.Query("UPDATE workspaces SET name = $1, max_active_keys = $2 WHERE id = $3",
                        Params().Add(ws.name).Add(ws.max_active_keys).Add(ws.id));
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) return Status::NotFound("no workspace " + ws.id);
    return InsertAudit(c, audit);
  });
}

// ---- API keys ----

Status PgStore::InsertKey(const ApiKey& key, int64_t max_active, Timestamp now,
                          const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    KEYWARD_RETURN_IF_ERROR(LockWorkspace(c, key.workspace_id));
    auto active = CountActive(c, key.workspace_id, now);
    if (!active.ok()) return active.status();
    KEYWARD_RETURN_IF_ERROR(store_rules::CheckKeyLimit(key.workspace_id, *active, max_active));
    KEYWARD_RETURN_IF_ERROR(InsertKeyRow(c, key));
    return InsertAudit(c, audit);
  });
}

Result<ApiKey> PgStore::GetKey(std::string_view id) {
  Result<ApiKey> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) {
    out = ReadKey(c, id);
    return out.status().IsNotFound() ? Status::Ok() : out.status();
  }));
  return out;
}

Result<int64_t> PgStore::CountActiveKeys(std::string_view workspace_id, Timestamp now) {
  Result<int64_t> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) {
    out = CountActive(c, workspace_id, now);
    return out.status();
  }));
  return out;
}

Result<ApiKey> PgStore::FindKeyByHash(const KeyHash& hash) {
  Result<ApiKey> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) {
    const std::string sql = Sql({"SELECT ", kKeyColumns, " FROM api_keys WHERE hash = $1"});
    out = One<ApiKey>(
        c.Query(sql.c_str(), Params().Add(hash)),
        [](const Row& r) { return store_rules::KeyFromRow(r); }, "no such key");
    return out.status().IsNotFound() ? Status::Ok() : out.status();
  }));
  return out;
}

Result<Page<ApiKey>> PgStore::ListKeys(const KeyFilter& f, const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(page.limit));
  Result<Page<ApiKey>> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    auto seq = CursorSeq(c, "api_keys", page.cursor,
                         {{"workspace_id", f.workspace_id}, {"environment", f.environment}});
    if (!seq.ok()) return seq.status();
    Builder b;
    std::string sql = Sql({"SELECT ", kKeyColumns, " FROM api_keys WHERE TRUE"});
    if (*seq) sql += " AND seq < " + b.Arg(*seq);
    if (!f.workspace_id.empty()) sql += " AND workspace_id = " + b.Arg(f.workspace_id);
    if (!f.environment.empty()) sql += " AND environment = " + b.Arg(f.environment);
    if (f.status) {
      switch (*f.status) {
        case KeyStatus::kRevoked:
          sql += " AND revoked_at IS NOT NULL";
          break;
        case KeyStatus::kExpired:
          sql += " AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= " +
                 b.Arg(f.now);
          break;
        case KeyStatus::kDisabled:
          sql += " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > " + b.Arg(f.now) +
                 ") AND disabled = 1";
          break;
        case KeyStatus::kActive:
          sql += " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > " + b.Arg(f.now) +
                 ") AND disabled = 0";
          break;
      }
    }
    sql += " ORDER BY seq DESC LIMIT ";
    out = ReadPage<ApiKey>(
        c, b, sql, page.limit, [](const Row& r) { return store_rules::KeyFromRow(r); },
        [](const ApiKey& k) { return k.id; });
    return out.status();
  }));
  return out;
}

Status PgStore::UpdateKey(const ApiKey& k, int64_t max_active, Timestamp now,
                          const AuditEntry& audit, bool* stale) {
  return Transact([&](PgConnection& c) -> Status {
    auto current = ReadKey(c, k.id, " FOR UPDATE");
    if (!current.ok()) return current.status();
    KEYWARD_RETURN_IF_ERROR(store_rules::CheckKeyUpdate(*current, k, max_active, now,
                                                        ReadsOn(c, k.workspace_id, now), stale));
    Params p;
    p.Add(k.name).Add(ToJsonArray(k.scopes)).Add(ToJsonArray(k.ip_allowlist));
    p.Add(ToJsonArray(k.referrer_allowlist)).Add(ToJsonArray(k.endpoint_allowlist));
    p.Add(k.rate_limit ? std::optional<int64_t>(k.rate_limit->limit) : std::nullopt);
    p.Add(k.rate_limit ? std::optional<int64_t>(k.rate_limit->period_seconds) : std::nullopt);
    p.Add(k.meta_json).Add(int64_t{k.disabled ? 1 : 0}).AddNullableText(k.disabled_by);
    p.Add(k.expires_at).Add(k.id);
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("UPDATE api_keys SET name = $1, scopes = $2, ip_allowlist = $3, "
               "referrer_allowlist = $4, endpoint_allowlist = $5, rate_limit_limit = $6, "
               "rate_limit_period = $7, meta = $8, disabled = $9, disabled_by = $10, "
               "expires_at = $11, version = version + 1 WHERE id = $12 AND revoked_at IS NULL",
               p));
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, current->hash, audit.at));
    return InsertAudit(c, audit);
  });
}

Result<ApiKey> PgStore::RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                                  std::string_view reason, const AuditEntry& audit) {
  Result<ApiKey> out = Status::Internal("unset");
  Status s = Transact([&](PgConnection& c) -> Status {
    out = ReadKey(c, id, " FOR UPDATE");
    if (!out.ok() || out->revoked_at)
      return out.status().IsNotFound() ? Status::Ok() : out.status();
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("UPDATE api_keys SET revoked_at = $1, revoked_by = $2, revoked_reason = $3, "
               "version = version + 1 WHERE id = $4",
               Params().Add(at).Add(by).Add(reason).Add(id)));
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, out->hash, at));
    return InsertAudit(c, audit);
  });
  if (!s.ok()) return s;
  if (out.ok() && !out->revoked_at) {
    out->revoked_at = at;
    out->revoked_by = std::string(by);
    out->revoked_reason = std::string(reason);
  }
  return out;
}

Status PgStore::RotateKey(const ApiKey& replacement, std::string_view old_id,
                          Timestamp old_expires_at, int64_t max_active, Timestamp now,
                          const AuditEntry& audit, bool* stale) {
  return Transact([&](PgConnection& c) -> Status {
    auto old = ReadKey(c, old_id, " FOR UPDATE");
    if (!old.ok()) return old.status();
    KEYWARD_RETURN_IF_ERROR(store_rules::CheckRotation(*old, replacement, old_expires_at,
                                                       max_active, now,
                                                       ReadsOn(c, old->workspace_id, now), stale));
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("UPDATE api_keys SET expires_at = $1, version = version + 1 WHERE id = $2",
               Params().Add(old_expires_at).Add(old_id)));
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, old->hash, audit.at));
    KEYWARD_RETURN_IF_ERROR(InsertKeyRow(c, replacement));
    return InsertAudit(c, audit);
  });
}

// ---- Usage ----

Status PgStore::RecordUsage(const UsageBatch& batch) {
  if (batch.empty()) return Status::Ok();
  // One row per counter (an upsert may touch a row once), in key order so
  // that nodes flushing at once lock rows in the same order.
  std::map<std::tuple<std::string, int64_t, std::string>, std::pair<std::string, int64_t>> rows;
  for (const auto& r : batch.rows) {
    auto& slot = rows[{r.key_id, r.minute, std::string(CodeName(r.code))}];
    slot.first = r.workspace_id;
    slot.second += r.count;
  }
  std::vector<std::string> key_ids, workspace_ids, codes;
  std::vector<int64_t> minutes, counts;
  for (const auto& [k, v] : rows) {
    key_ids.push_back(std::get<0>(k));
    minutes.push_back(std::get<1>(k));
    codes.push_back(std::get<2>(k));
    workspace_ids.push_back(v.first);
    counts.push_back(v.second);
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
          "INSERT INTO usage (key_id, workspace_id, minute, code, count) "
          "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[]) "
          "ON CONFLICT (key_id, minute, code) DO UPDATE SET count = usage.count + excluded.count",
          Params()
              .Add(ArrayLiteral(key_ids))
              .Add(ArrayLiteral(workspace_ids))
              .Add(IntArrayLiteral(minutes))
              .Add(ArrayLiteral(codes))
              .Add(IntArrayLiteral(counts))));
    }
    if (!used_ids.empty()) {
      // Rows locked in id order, as every node does: two flushes never
      // wait on each other in a circle.
      KEYWARD_RETURN_IF_ERROR(
          c.Exec("SELECT 1 FROM api_keys WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
                 Params().Add(ArrayLiteral(used_ids))));
      KEYWARD_RETURN_IF_ERROR(
          c.Exec("UPDATE api_keys AS k SET last_used_at = v.at "
                 "FROM unnest($1::text[], $2::bigint[]) AS v (id, at) "
                 "WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.at)",
                 Params().Add(ArrayLiteral(used_ids)).Add(IntArrayLiteral(used_at))));
    }
    return Status::Ok();
  });
}

Result<std::vector<UsagePoint>> PgStore::QueryUsage(const UsageQuery& q) {
  std::vector<UsagePoint> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    Builder b;
    const std::string bucket = b.Arg(std::max<int64_t>(q.bucket_minutes, 1));
    const std::string ws = b.Arg(q.workspace_id);
    std::string sql = "SELECT (minute / " + bucket + "::bigint) * " + bucket +
                      "::bigint AS bucket, code, SUM(count)::bigint FROM usage WHERE workspace_id "
                      "= " +
                      ws + " AND minute >= " + b.Arg(q.from_minute) + " AND minute < " +
                      b.Arg(q.to_minute);
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
      out.push_back({r.Int(0), *code, r.Int(2)});
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
            .Add(ArrayLiteral(key_ids))
            .Add(now_minute - 24 * 60)
            .Add(now_minute - 30 * 24 * 60));
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
    return c.Exec("DELETE FROM usage WHERE minute < $1", Params().Add(before_minute));
  });
}

// ---- The change log ----

Result<std::vector<KeyChange>> PgStore::KeyChangesSince(int64_t seq, int limit) {
  std::vector<KeyChange> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    auto rows =
        c.Query("SELECT seq, key_hash FROM key_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                Params().Add(seq).Add(static_cast<int64_t>(limit)));
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
    return c.Exec("DELETE FROM key_changes WHERE at < $1", Params().Add(before));
  });
}

// ---- Root keys ----

namespace {
Status InsertRootKeyRow(PgConnection& c, const RootKey& k, const AuditEntry& audit) {
  KEYWARD_RETURN_IF_ERROR(
      c.Exec("INSERT INTO root_keys (id, hash, short_prefix, name, created_at, created_by) "
             "VALUES ($1, $2, $3, $4, $5, $6)",
             Params()
                 .Add(k.id)
                 .Add(k.hash)
                 .Add(k.short_prefix)
                 .Add(k.name)
                 .Add(k.created_at)
                 .Add(k.created_by)));
  return PgStore::InsertAudit(c, audit);
}
}  // namespace

Status PgStore::InsertRootKey(const RootKey& k, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) { return InsertRootKeyRow(c, k, audit); });
}

Status PgStore::InsertFirstRootKey(const RootKey& k, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    // Nodes starting together on an empty database: one makes the key.
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Add(kFirstRootKeyLock)));
    auto rows = c.Query("SELECT COUNT(*) FROM root_keys");
    if (!rows.ok()) return rows.status();
    if (rows->row(0).Int(0) > 0) return Status::Conflict("the database already has a root key");
    return InsertRootKeyRow(c, k, audit);
  });
}

Result<RootKey> PgStore::FindRootKeyByHash(const KeyHash& hash) {
  Result<RootKey> out = Status::Internal("unset");
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) {
    const std::string sql = Sql({"SELECT ", kRootKeyColumns, " FROM root_keys WHERE hash = $1"});
    out = One<RootKey>(
        c.Query(sql.c_str(), Params().Add(hash)),
        [](const Row& r) { return store_rules::RootKeyFromRow(r); }, "no such root key");
    return out.status().IsNotFound() ? Status::Ok() : out.status();
  }));
  return out;
}

Result<std::vector<RootKey>> PgStore::ListRootKeys() {
  std::vector<RootKey> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    const std::string sql = Sql({"SELECT ", kRootKeyColumns, " FROM root_keys ORDER BY seq"});
    auto rows = c.Query(sql.c_str());
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) out.push_back(store_rules::RootKeyFromRow(rows->row(i)));
    return Status::Ok();
  }));
  return out;
}

Result<RootKey> PgStore::RevokeRootKey(std::string_view id, Timestamp at, const AuditEntry& audit) {
  Result<RootKey> out = Status::Internal("unset");
  Status s = Transact([&](PgConnection& c) -> Status {
    const std::string sql =
        Sql({"SELECT ", kRootKeyColumns, " FROM root_keys WHERE id = $1 FOR UPDATE"});
    out = One<RootKey>(
        c.Query(sql.c_str(), Params().Add(id)),
        [](const Row& r) { return store_rules::RootKeyFromRow(r); },
        "no root key " + std::string(id));
    if (!out.ok() || out->revoked_at)
      return out.status().IsNotFound() ? Status::Ok() : out.status();
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("UPDATE root_keys SET revoked_at = $1 WHERE id = $2", Params().Add(at).Add(id)));
    return InsertAudit(c, audit);
  });
  if (!s.ok()) return s;
  if (out.ok() && !out->revoked_at) out->revoked_at = at;
  return out;
}

}  // namespace keyward
