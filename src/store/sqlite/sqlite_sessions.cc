// The SQLite engine's portal and web sessions (KeyStore's session methods):
// one-time portal codes and the browser sessions they become, stored as
// hashes only. Thread-safe: under the store's connection mutex.
#include <sqlite3.h>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace keyward {
namespace {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers

using store_rules::kPortalColumns;

PortalSession RowToPortalSession(const Stmt& s) { return store_rules::PortalSessionFromRow(s); }

// The one portal session matching "WHERE <where> = ?".
template <typename Bind>
Result<PortalSession> ReadPortalSession(sqlite3* db, const char* where, Bind bind) {
  const std::string sql =
      std::string("SELECT ") + kPortalColumns + " FROM portal_sessions WHERE " + where + " = ?";
  Stmt s(db, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  bind(s);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return RowToPortalSession(s);
  if (rc == SQLITE_DONE) return Status::NotFound("no portal session");
  return SqliteError(db, "read");
}

}  // namespace

Status SqliteStore::InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_,
         "INSERT INTO portal_sessions (id, workspace_id, environment, permissions, scopes, "
         "return_url, member_id, member_name, member_email, actor, code_hash, created_at, "
         "created_by, code_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(ps.id).Bind(ps.workspace_id).Bind(ps.environment).Bind(ToJsonArray(ps.permissions));
  s.Bind(ToJsonArray(ps.scopes)).Bind(ps.return_url).Bind(ps.member_id).Bind(ps.member_name);
  s.Bind(ps.member_email).Bind(ps.actor).Bind(ps.code_hash).Bind(ps.created_at);
  s.Bind(ps.created_by).Bind(ps.code_expires_at);
  if (Status st = s.Run(); !st.ok()) {
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_FOREIGNKEY) {
      return Status::NotFound("no workspace " + ps.workspace_id);
    }
    return st;
  }
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<PortalSession> SqliteStore::GetPortalSession(std::string_view id) {
  MutexLock lock(&mu_);
  auto ps = ReadPortalSession(db_, "id", [&](Stmt& s) { s.Bind(id); });
  if (!ps.ok() && ps.status().IsNotFound()) {
    return Status::NotFound("no portal session " + std::string(id));
  }
  return ps;
}

Status SqliteStore::RedeemPortalCode(const KeyHash& code_hash, Timestamp now,
                                     const WebSession& session, const AuditEntry& audit,
                                     PortalSession* found) {
  MutexLock lock(&mu_);
  // Read and mark in one write transaction: two browsers racing with one
  // code cannot both win.
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  auto ps = ReadPortalSession(db_, "code_hash", [&](Stmt& s) { s.Bind(code_hash); });
  if (!ps.ok()) return ps.status();
  *found = *ps;
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckPortalCode(*ps, now));
  Stmt s(db_, "UPDATE portal_sessions SET code_used_at = ? WHERE id = ? AND code_used_at IS NULL");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(now).Bind(ps->id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  WebSession w = session;
  w.portal_session_id = ps->id;
  KEYWARD_RETURN_IF_ERROR(InsertWebSessionLocked(w));
  AuditEntry e = audit;
  e.actor = ps->actor;
  e.target = ps->id;
  e.workspace_id = ps->workspace_id;
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(e));
  KEYWARD_RETURN_IF_ERROR(tx.Commit());
  found->code_used_at = now;
  return Status::Ok();
}

Status SqliteStore::EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_, "UPDATE portal_sessions SET ended_at = coalesce(ended_at, ?) WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(at).Bind(id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no portal session " + std::string(id));
  Stmt end(db_,
           "UPDATE web_sessions SET ended_at = ? WHERE portal_session_id = ? AND ended_at IS NULL");
  KEYWARD_RETURN_IF_ERROR(end.PrepareStatus());
  end.Bind(at).Bind(id);
  KEYWARD_RETURN_IF_ERROR(end.Run());
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Status SqliteStore::InsertWebSessionLocked(const WebSession& w) {
  Stmt s(db_,
         "INSERT INTO web_sessions (token_hash, kind, portal_session_id, root_key_id, created_at, "
         "expires_at, ip) VALUES (?, ?, ?, ?, ?, ?, ?)");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(w.token_hash).Bind(w.kind).Bind(w.portal_session_id).Bind(w.root_key_id);
  s.Bind(w.created_at).Bind(w.expires_at).Bind(w.ip);
  return s.Run();
}

Status SqliteStore::InsertWebSession(const WebSession& session, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  KEYWARD_RETURN_IF_ERROR(InsertWebSessionLocked(session));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<WebSession> SqliteStore::FindWebSession(const KeyHash& token_hash) {
  MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT token_hash, kind, portal_session_id, root_key_id, created_at, expires_at, "
         "ended_at, ip FROM web_sessions WHERE token_hash = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(token_hash);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no such session");
  if (rc != SQLITE_ROW) return SqliteError(db_, "read");
  return store_rules::WebSessionFromRow(s);
}

Status SqliteStore::EndWebSession(const KeyHash& token_hash, Timestamp at,
                                  const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_, "UPDATE web_sessions SET ended_at = coalesce(ended_at, ?) WHERE token_hash = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(at).Bind(token_hash);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no such session");
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Status SqliteStore::PruneSessions(Timestamp before) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt web(db_, "DELETE FROM web_sessions WHERE expires_at < ? OR ended_at < ?");
  KEYWARD_RETURN_IF_ERROR(web.PrepareStatus());
  web.Bind(before).Bind(before);
  KEYWARD_RETURN_IF_ERROR(web.Run());
  // A portal session goes once its code can no longer be redeemed and no
  // web session made from it is left.
  Stmt portal(
      db_,
      "DELETE FROM portal_sessions WHERE (code_expires_at < ? OR ended_at < ?) AND NOT "
      "EXISTS (SELECT 1 FROM web_sessions w WHERE w.portal_session_id = portal_sessions.id)");
  KEYWARD_RETURN_IF_ERROR(portal.PrepareStatus());
  portal.Bind(before).Bind(before);
  KEYWARD_RETURN_IF_ERROR(portal.Run());
  return tx.Commit();
}

}  // namespace keyward
