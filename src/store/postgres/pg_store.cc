#include "store/postgres/pg_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_queries.h"
#include "store/rules.h"

namespace keyward {
namespace {

using namespace pg_internal;  // NOLINT: the engine's own helpers
using store_rules::kAuditColumns;
using store_rules::kRootKeyColumns;
using store_rules::kWorkspaceColumns;

constexpr int kMaxTries = 8;

}  // namespace

Status PgStore::InsertAudit(PgConnection& c, const AuditEntry& e) {
  Params p;
  store_rules::BindAudit(p, e);
  const std::string sql = std::string("INSERT INTO audit_log (") + kAuditColumns +
                          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
  KEYWARD_RETURN_IF_ERROR(c.Exec(sql.c_str(), p));
  // The outbox: the events of the change commit with it.
  for (const WebhookEvent& event : EventsForAudit(e)) {
    KEYWARD_RETURN_IF_ERROR(InsertWebhookEvent(c, event));
  }
  return Status::Ok();
}

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
  KEYWARD_RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_lock($1)", Params().Bind(kMigrationLock)));
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
                      Params().Bind(static_cast<int64_t>(i + 1)));
      }();
      if (!step.ok()) {
        (void)c.Exec("ROLLBACK");
        return step;
      }
      KEYWARD_RETURN_IF_ERROR(c.Exec("COMMIT"));
    }
    return Status::Ok();
  }();
  (void)c.Exec("SELECT pg_advisory_unlock($1)", Params().Bind(kMigrationLock));
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

Status PgStore::ProbeWrite() {
  return Transact([](PgConnection& c) {
    return c.Exec(
        "INSERT INTO write_probe (id, at) VALUES (1, (extract(epoch FROM now()) * 1000)::bigint) "
        "ON CONFLICT (id) DO UPDATE SET at = excluded.at");
  });
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
  return Read<Page<AuditEntry>>([&](PgConnection& c) -> Result<Page<AuditEntry>> {
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
    return ReadPage<AuditEntry>(
        c, b, sql, page.limit, [](const Row& r) { return store_rules::AuditFromRow(r); },
        [](const AuditEntry& e) { return e.id; });
  });
}

// ---- Workspaces ----

Status PgStore::CreateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    KEYWARD_RETURN_IF_ERROR(CheckPlan(c, ws.plan_id));
    Params p;
    store_rules::BindWorkspaceInsert(p, ws);
    const std::string sql = Sql({"INSERT INTO workspaces (", store_rules::kWorkspaceInsertColumns,
                                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"});
    KEYWARD_RETURN_IF_ERROR(c.Exec(sql.c_str(), p));
    return InsertAudit(c, audit);
  });
}

Result<Workspace> PgStore::GetWorkspace(std::string_view id) {
  return Read<Workspace>([&](PgConnection& c) -> Result<Workspace> {
    const std::string sql = Sql({"SELECT ", kWorkspaceColumns, " FROM workspaces WHERE id = $1"});
    return One<Workspace>(
        c.Query(sql.c_str(), Params().Bind(id)),
        [](const Row& r) { return store_rules::WorkspaceFromRow(r); },
        "no workspace " + std::string(id));
  });
}

Result<Page<Workspace>> PgStore::ListWorkspaces(const WorkspaceFilter& f, const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(page.limit));
  return Read<Page<Workspace>>([&](PgConnection& c) -> Result<Page<Workspace>> {
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
    return ReadPage<Workspace>(
        c, b, sql, page.limit, [](const Row& r) { return store_rules::WorkspaceFromRow(r); },
        [](const Workspace& w) { return w.id; });
  });
}

Status PgStore::UpdateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    KEYWARD_RETURN_IF_ERROR(CheckPlan(c, ws.plan_id));
    Params p;
    store_rules::BindWorkspaceUpdate(p, ws);
    p.Bind(ws.id);
    auto rows = c.Query(
        "UPDATE workspaces SET name = $1, max_active_keys = $2, plan_id = $3, "
        "monthly_credits = $4, rate_limit_limit = $5, rate_limit_period = $6, "
        "billing_anchor_day = $7, rotate_after_days = $8 WHERE id = $9",
        p);
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) return Status::NotFound("no workspace " + ws.id);
    // Nodes drop what they cache of the workspace's limits.
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, kPolicyChange, audit.at));
    return InsertAudit(c, audit);
  });
}

// ---- Root keys ----

namespace {
Status InsertRootKeyRow(PgConnection& c, const RootKey& k, const AuditEntry& audit) {
  KEYWARD_RETURN_IF_ERROR(
      c.Exec("INSERT INTO root_keys (id, hash, short_prefix, name, created_at, created_by) "
             "VALUES ($1, $2, $3, $4, $5, $6)",
             Params()
                 .Bind(k.id)
                 .Bind(k.hash)
                 .Bind(k.short_prefix)
                 .Bind(k.name)
                 .Bind(k.created_at)
                 .Bind(k.created_by)));
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
        c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Bind(kFirstRootKeyLock)));
    auto rows = c.Query("SELECT COUNT(*) FROM root_keys");
    if (!rows.ok()) return rows.status();
    if (rows->row(0).Int(0) > 0) return Status::Conflict("the database already has a root key");
    return InsertRootKeyRow(c, k, audit);
  });
}

Result<RootKey> PgStore::FindRootKeyByHash(const KeyHash& hash) {
  return Read<RootKey>([&](PgConnection& c) -> Result<RootKey> {
    const std::string sql = Sql({"SELECT ", kRootKeyColumns, " FROM root_keys WHERE hash = $1"});
    return One<RootKey>(
        c.Query(sql.c_str(), Params().Bind(hash)),
        [](const Row& r) { return store_rules::RootKeyFromRow(r); }, "no such root key");
  });
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
        c.Query(sql.c_str(), Params().Bind(id)),
        [](const Row& r) { return store_rules::RootKeyFromRow(r); },
        "no root key " + std::string(id));
    if (!out.ok() || out->revoked_at)
      return out.status().IsNotFound() ? Status::Ok() : out.status();
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("UPDATE root_keys SET revoked_at = $1 WHERE id = $2", Params().Bind(at).Bind(id)));
    return InsertAudit(c, audit);
  });
  if (!s.ok()) return s;
  if (out.ok() && !out->revoked_at) out->revoked_at = at;
  return out;
}

}  // namespace keyward
