// The PostgreSQL engine's API keys (KeyStore's key methods): a key row is
// locked before it changes and the workspace row before keys are counted,
// the rules shared through store/rules.h. Thread-safe: each call on a pooled
// connection of its own.
#include <algorithm>

#include "store/postgres/pg_queries.h"
#include "store/postgres/pg_store.h"
#include "store/rules.h"

namespace keyward {

using namespace pg_internal;  // NOLINT: the engine's own helpers
using store_rules::kKeyColumns;

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
  return Read<ApiKey>([&](PgConnection& c) -> Result<ApiKey> { return ReadKey(c, id); });
}

Result<int64_t> PgStore::CountActiveKeys(std::string_view workspace_id, Timestamp now) {
  return Read<int64_t>(
      [&](PgConnection& c) -> Result<int64_t> { return CountActive(c, workspace_id, now); });
}

Result<ApiKey> PgStore::FindKeyByHash(const KeyHash& hash) {
  return Read<ApiKey>([&](PgConnection& c) -> Result<ApiKey> {
    const std::string sql = Sql({"SELECT ", kKeyColumns, " FROM api_keys WHERE hash = $1"});
    return One<ApiKey>(
        c.Query(sql.c_str(), Params().Bind(hash)),
        [](const Row& r) { return store_rules::KeyFromRow(r); }, "no such key");
  });
}

Result<Page<ApiKey>> PgStore::ListKeys(const KeyFilter& f, const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(page.limit));
  return Read<Page<ApiKey>>([&](PgConnection& c) -> Result<Page<ApiKey>> {
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
    if (f.rotation_due) {
      // Active, and as old as its workspace's policy (else the deployment's).
      sql += " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > " + b.Arg(f.now) +
             ") AND disabled = 0 AND created_at + COALESCE((SELECT w.rotate_after_days FROM "
             "workspaces w WHERE w.id = api_keys.workspace_id), " +
             b.Arg(f.rotate_after_days) + "::BIGINT)::BIGINT * 86400000 <= " + b.Arg(f.now);
    }
    sql += " ORDER BY seq DESC LIMIT ";
    return ReadPage<ApiKey>(
        c, b, sql, page.limit, [](const Row& r) { return store_rules::KeyFromRow(r); },
        [](const ApiKey& k) { return k.id; });
  });
}

Status PgStore::UpdateKey(const ApiKey& k, int64_t max_active, Timestamp now,
                          const AuditEntry& audit, bool* stale) {
  return Transact([&](PgConnection& c) -> Status {
    auto current = ReadKey(c, k.id, " FOR UPDATE");
    if (!current.ok()) return current.status();
    KEYWARD_RETURN_IF_ERROR(store_rules::CheckKeyUpdate(*current, k, max_active, now,
                                                        ReadsOn(c, k.workspace_id, now), stale));
    Params p;
    store_rules::BindKeyUpdate(p, k);
    p.Bind(k.id);
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("UPDATE api_keys SET name = $1, scopes = $2, ip_allowlist = $3, "
               "referrer_allowlist = $4, endpoint_allowlist = $5, rate_limit_limit = $6, "
               "rate_limit_period = $7, meta = $8, disabled = $9, disabled_by = $10, "
               "expires_at = $11, credits_remaining = $12, credits_set_at = $13, "
               "credits_refill_amount = $14, credits_refill_interval = $15, "
               "credits_refill_day = $16, version = version + 1 "
               "WHERE id = $17 AND revoked_at IS NULL",
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
               Params().Bind(at).Bind(by).Bind(reason).Bind(id)));
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, out->hash, at));
    return InsertAudit(c, audit);
  });
  if (!s.ok()) return s;
  if (out.ok() && !out->revoked_at) {
    store_rules::MarkRevoked(&*out, at, by, reason);
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
               Params().Bind(old_expires_at).Bind(old_id)));
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, old->hash, audit.at));
    KEYWARD_RETURN_IF_ERROR(InsertKeyRow(c, replacement));
    return InsertAudit(c, audit);
  });
}

}  // namespace keyward
