// The PostgreSQL engine's portal and web sessions (KeyStore's session
// methods), as store/sqlite/sqlite_sessions.cc has them for SQLite, the
// rules shared through store/rules.h. Thread-safe: each call on a pooled
// connection of its own.
#include "store/postgres/pg_store.h"
#include "store/rules.h"

namespace keyward {
namespace {

using namespace pg_internal;  // NOLINT: the engine's own helpers
using store_rules::ToJsonArray;

Status InsertWebSessionRow(PgConnection& c, const WebSession& w) {
  return c.Exec(
      "INSERT INTO web_sessions (token_hash, kind, portal_session_id, root_key_id, created_at, "
      "expires_at, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      Params()
          .Bind(w.token_hash)
          .Bind(w.kind)
          .Bind(w.portal_session_id)
          .Bind(w.root_key_id)
          .Bind(w.created_at)
          .Bind(w.expires_at)
          .Bind(w.ip));
}

// The one portal session whose column equals the parameter; lock: " FOR UPDATE" or "".
template <typename T>
Result<PortalSession> ReadPortalSession(PgConnection& c, const char* column, const T& value,
                                        const char* lock = "") {
  const std::string sql = std::string("SELECT ") + store_rules::kPortalColumns +
                          " FROM portal_sessions WHERE " + column + " = $1" + lock;
  auto rows = c.Query(sql.c_str(), Params().Bind(value));
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return Status::NotFound("no portal session");
  return store_rules::PortalSessionFromRow(rows->row(0));
}

}  // namespace

Status PgStore::InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    Status s = c.Exec(
        "INSERT INTO portal_sessions (id, workspace_id, environment, permissions, scopes, "
        "return_url, member_id, member_name, member_email, actor, code_hash, created_at, "
        "created_by, code_expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        Params()
            .Bind(ps.id)
            .Bind(ps.workspace_id)
            .Bind(ps.environment)
            .Bind(ToJsonArray(ps.permissions))
            .Bind(ToJsonArray(ps.scopes))
            .Bind(ps.return_url)
            .Bind(ps.member_id)
            .Bind(ps.member_name)
            .Bind(ps.member_email)
            .Bind(ps.actor)
            .Bind(ps.code_hash)
            .Bind(ps.created_at)
            .Bind(ps.created_by)
            .Bind(ps.code_expires_at));
    if (s.IsNotFound()) return Status::NotFound("no workspace " + ps.workspace_id);
    KEYWARD_RETURN_IF_ERROR(s);
    return InsertAudit(c, audit);
  });
}

Result<PortalSession> PgStore::GetPortalSession(std::string_view id) {
  auto out = Read<PortalSession>(
      [&](PgConnection& c) -> Result<PortalSession> { return ReadPortalSession(c, "id", id); });
  if (out.status().IsNotFound()) return Status::NotFound("no portal session " + std::string(id));
  return out;
}

Status PgStore::RedeemPortalCode(const KeyHash& code_hash, Timestamp now, const WebSession& session,
                                 const AuditEntry& audit, PortalSession* found) {
  Status s = Transact([&](PgConnection& c) -> Status {
    // The row stays locked to commit: two browsers racing with one code
    // cannot both win, on any node.
    auto ps = ReadPortalSession(c, "code_hash", code_hash, " FOR UPDATE");
    if (!ps.ok()) return ps.status();
    *found = *ps;
    KEYWARD_RETURN_IF_ERROR(store_rules::CheckPortalCode(*ps, now));
    KEYWARD_RETURN_IF_ERROR(c.Exec(
        "UPDATE portal_sessions SET code_used_at = $1 WHERE id = $2 AND code_used_at IS NULL",
        Params().Bind(now).Bind(ps->id)));
    WebSession w = session;
    w.portal_session_id = ps->id;
    KEYWARD_RETURN_IF_ERROR(InsertWebSessionRow(c, w));
    AuditEntry e = audit;
    e.actor = ps->actor;
    e.target = ps->id;
    e.workspace_id = ps->workspace_id;
    return InsertAudit(c, e);
  });
  KEYWARD_RETURN_IF_ERROR(s);
  found->code_used_at = now;
  return Status::Ok();
}

Status PgStore::EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    auto rows =
        c.Query("UPDATE portal_sessions SET ended_at = coalesce(ended_at, $1) WHERE id = $2",
                Params().Bind(at).Bind(id));
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) return Status::NotFound("no portal session " + std::string(id));
    KEYWARD_RETURN_IF_ERROR(c.Exec(
        "UPDATE web_sessions SET ended_at = $1 WHERE portal_session_id = $2 AND ended_at IS NULL",
        Params().Bind(at).Bind(id)));
    return InsertAudit(c, audit);
  });
}

Status PgStore::InsertWebSession(const WebSession& session, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    KEYWARD_RETURN_IF_ERROR(InsertWebSessionRow(c, session));
    return InsertAudit(c, audit);
  });
}

Result<WebSession> PgStore::FindWebSession(const KeyHash& token_hash) {
  return Read<WebSession>([&](PgConnection& c) -> Result<WebSession> {
    const std::string sql = std::string("SELECT ") + store_rules::kWebSessionColumns +
                            " FROM web_sessions WHERE token_hash = $1";
    auto rows = c.Query(sql.c_str(), Params().Bind(token_hash));
    if (!rows.ok()) return rows.status();
    if (rows->rows() == 0) return Status::NotFound("no such session");
    return store_rules::WebSessionFromRow(rows->row(0));
  });
}

Status PgStore::EndWebSession(const KeyHash& token_hash, Timestamp at, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    auto rows =
        c.Query("UPDATE web_sessions SET ended_at = coalesce(ended_at, $1) WHERE token_hash = $2",
                Params().Bind(at).Bind(token_hash));
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) return Status::NotFound("no such session");
    return InsertAudit(c, audit);
  });
}

Status PgStore::PruneSessions(Timestamp before) {
  return Transact([&](PgConnection& c) -> Status {
    KEYWARD_RETURN_IF_ERROR(c.Exec(
        "DELETE FROM web_sessions WHERE expires_at < $1 OR ended_at < $1", Params().Bind(before)));
    // A portal session goes once its code can no longer be redeemed and no
    // web session made from it is left.
    return c.Exec(
        "DELETE FROM portal_sessions WHERE (code_expires_at < $1 OR ended_at < $1) AND NOT "
        "EXISTS (SELECT 1 FROM web_sessions w WHERE w.portal_session_id = portal_sessions.id)",
        Params().Bind(before));
  });
}

}  // namespace keyward
