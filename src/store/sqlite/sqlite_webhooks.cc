// The SQLite engine's webhooks (KeyStore's webhook methods): endpoints, the
// outbox its audit entries write events to, and the deliveries workers
// claim. One process writes at a time, so a claim is one UPDATE of the due
// rows. Thread-safe: under the store's connection mutex.
#include <sqlite3.h>

#include <algorithm>

#include "core/mutex.h"
#include "core/random.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"
#include "store/webhook_rules.h"

namespace keyward {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers
using store_rules::kDeliveryColumns;
using store_rules::kDeliveryFrom;
using store_rules::kEndpointColumns;

namespace {
WebhookEndpoint RowToEndpoint(const Stmt& s) { return store_rules::EndpointFromRow(s); }
WebhookDelivery RowToDelivery(const Stmt& s) { return store_rules::DeliveryFromRow(s); }
}  // namespace

Status SqliteStore::InsertEventLocked(const WebhookEvent& e, bool* inserted) {
  Stmt s(db_,
         "INSERT INTO webhook_events (id, type, workspace_id, created_at, payload, dedupe_key, "
         "environment) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(e.id).Bind(e.type).Bind(e.workspace_id).Bind(e.created_at).Bind(e.payload);
  s.BindNullableText(e.dedupe_key).Bind(e.environment);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (inserted != nullptr) *inserted = sqlite3_changes(db_) > 0;
  return Status::Ok();
}

Status SqliteStore::InsertWebhookEndpoint(const WebhookEndpoint& ep, int max_per_owner,
                                          const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  if (!ep.workspace_id.empty()) {
    Stmt w(db_, "SELECT 1 FROM workspaces WHERE id = ?");
    KEYWARD_RETURN_IF_ERROR(w.PrepareStatus());
    w.Bind(ep.workspace_id);
    const int rc = w.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no workspace " + ep.workspace_id);
    if (rc != SQLITE_ROW) return SqliteError(db_, "read workspace");
  }
  Stmt count(db_, "SELECT COUNT(*) FROM webhook_endpoints WHERE workspace_id IS ?");
  KEYWARD_RETURN_IF_ERROR(count.PrepareStatus());
  count.BindNullableText(ep.workspace_id);
  if (count.Step() != SQLITE_ROW) return SqliteError(db_, "count endpoints");
  if (count.Int(0) >= max_per_owner) {
    return store_rules::TooManyEndpoints(ep.workspace_id, max_per_owner);
  }
  const std::string sql = std::string("INSERT INTO webhook_endpoints (") + kEndpointColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindEndpoint(s, ep);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<WebhookEndpoint> SqliteStore::GetWebhookEndpoint(std::string_view id) {
  MutexLock lock(&mu_);
  const std::string sql =
      std::string("SELECT ") + kEndpointColumns + " FROM webhook_endpoints WHERE id = ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return RowToEndpoint(s);
  if (rc == SQLITE_DONE) return Status::NotFound("no webhook endpoint " + std::string(id));
  return SqliteError(db_, "read webhook endpoint");
}

Result<std::vector<WebhookEndpoint>> SqliteStore::ListWebhookEndpoints(
    const std::optional<std::string>& workspace_id) {
  MutexLock lock(&mu_);
  std::string sql = std::string("SELECT ") + kEndpointColumns + " FROM webhook_endpoints";
  if (workspace_id) sql += " WHERE workspace_id IS ?";
  sql += " ORDER BY created_at, id";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  if (workspace_id) s.BindNullableText(*workspace_id);
  std::vector<WebhookEndpoint> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(RowToEndpoint(s));
  if (rc != SQLITE_DONE) return SqliteError(db_, "read webhook endpoints");
  return out;
}

Status SqliteStore::UpdateWebhookEndpoint(const WebhookEndpoint& ep, const AuditEntry& audit,
                                          bool* stale) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  const std::string sql = std::string("UPDATE webhook_endpoints SET ") +
                          store_rules::kEndpointUpdateSet + " WHERE id = ? AND version = ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindEndpointUpdate(s, ep);
  s.Bind(ep.id).Bind(ep.version);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) {
    Stmt e(db_, "SELECT 1 FROM webhook_endpoints WHERE id = ?");
    KEYWARD_RETURN_IF_ERROR(e.PrepareStatus());
    e.Bind(ep.id);
    const int rc = e.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no webhook endpoint " + ep.id);
    if (rc != SQLITE_ROW) return SqliteError(db_, "read webhook endpoint");
    if (stale != nullptr) *stale = true;
    return Status::Conflict("webhook endpoint " + ep.id + " changed meanwhile");
  }
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Status SqliteStore::DeleteWebhookEndpoint(std::string_view id, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_, "DELETE FROM webhook_endpoints WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no webhook endpoint " + std::string(id));
  Stmt d(db_, "DELETE FROM webhook_deliveries WHERE endpoint_id = ?");
  KEYWARD_RETURN_IF_ERROR(d.PrepareStatus());
  d.Bind(id);
  KEYWARD_RETURN_IF_ERROR(d.Run());
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<int> SqliteStore::InsertWebhookEvents(const std::vector<WebhookEvent>& events) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  int n = 0;
  for (const WebhookEvent& e : events) {
    bool inserted = false;
    KEYWARD_RETURN_IF_ERROR(InsertEventLocked(e, &inserted));
    n += inserted ? 1 : 0;
  }
  KEYWARD_RETURN_IF_ERROR(tx.Commit());
  return n;
}

Result<int> SqliteStore::RaiseLifecycleEvents(const LifecycleRules& rules, Timestamp now,
                                              int limit) {
  int64_t last_seq = 0;
  {
    MutexLock lock(&mu_);
    Stmt s(db_, "SELECT COALESCE(MAX(seq), 0) FROM api_keys");
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    if (s.Step() != SQLITE_ROW) return SqliteError(db_, "read keys due an event");
    last_seq = s.Int(0);
  }
  const int64_t range = std::max<int64_t>(rules.keys_per_range, 1);
  // A range of keys a transaction, the writer free between them.
  int n = 0;
  for (int64_t after = 0; after < last_seq; after += range) {
    MutexLock lock(&mu_);
    Transaction tx(db_);
    KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
    for (const auto& q : store_rules::LifecycleQueries(rules, now, limit, after, after + range)) {
      std::vector<WebhookEvent> events;
      {
        Stmt s(db_, q.sql.c_str());
        KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
        for (int64_t p : q.params) s.Bind(p);
        int rc;
        while ((rc = s.Step()) == SQLITE_ROW) {
          events.push_back(store_rules::LifecycleEventFromRow(q, s, now));
        }
        if (rc != SQLITE_DONE) return SqliteError(db_, "read keys due an event");
      }
      for (const WebhookEvent& e : events) {
        bool inserted = false;
        KEYWARD_RETURN_IF_ERROR(InsertEventLocked(e, &inserted));
        n += inserted ? 1 : 0;
      }
    }
    KEYWARD_RETURN_IF_ERROR(tx.Commit());
  }
  return n;
}

Status SqliteStore::FanOutLocked() {
  struct Pending {
    int64_t seq;
    WebhookEvent event;
  };
  std::vector<Pending> pending;
  {
    const std::string sql = std::string("SELECT ") + store_rules::kFanOutEventColumns +
                            " FROM webhook_events WHERE fanned_out = 0 ORDER BY seq LIMIT 500";
    Stmt s(db_, sql.c_str());
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      Pending p;
      p.seq = s.Int(0);
      p.event.id = s.Text(1);
      p.event.type = s.Text(2);
      p.event.workspace_id = s.Text(3);
      p.event.created_at = s.Int(4);
      p.event.environment = s.Text(5);
      pending.push_back(std::move(p));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "read events");
  }
  if (pending.empty()) return Status::Ok();
  std::vector<WebhookEndpoint> endpoints;
  {
    const std::string sql =
        std::string("SELECT ") + kEndpointColumns + " FROM webhook_endpoints WHERE enabled = 1";
    Stmt s(db_, sql.c_str());
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) endpoints.push_back(RowToEndpoint(s));
    if (rc != SQLITE_DONE) return SqliteError(db_, "read endpoints");
  }
  // Both statements are prepared once for the batch: after a bulk import
  // the batch is 500 events, most often for no endpoint at all.
  Stmt ins(db_,
           "INSERT INTO webhook_deliveries (id, endpoint_id, event_seq, status, "
           "next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?) "
           "ON CONFLICT DO NOTHING");
  KEYWARD_RETURN_IF_ERROR(ins.PrepareStatus());
  for (const Pending& p : pending) {
    for (const WebhookEndpoint& ep : endpoints) {
      if (!store_rules::FansOutTo(ep, p.event)) continue;
      ins.Reset();
      ins.Bind(NewId("whd")).Bind(ep.id).Bind(p.seq).Bind(p.event.created_at);
      ins.Bind(p.event.created_at);
      KEYWARD_RETURN_IF_ERROR(ins.Run());
    }
  }
  // The batch is the first 500 not fanned out, in seq order: everything up
  // to its last seq that is not fanned out is in it.
  Stmt done(db_, "UPDATE webhook_events SET fanned_out = 1 WHERE fanned_out = 0 AND seq <= ?");
  KEYWARD_RETURN_IF_ERROR(done.PrepareStatus());
  done.Bind(pending.back().seq);
  return done.Run();
}

Result<std::vector<ClaimedDelivery>> SqliteStore::ClaimWebhookDeliveries(Timestamp now,
                                                                         Timestamp claim_until,
                                                                         int limit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  KEYWARD_RETURN_IF_ERROR(FanOutLocked());
  std::vector<ClaimedDelivery> out;
  {
    const std::string sql =
        std::string("SELECT ") + kDeliveryColumns + ", e.payload, e.created_at, " +
        "w.url, w.secret, w.previous_secret, w.previous_secret_expires_at" + kDeliveryFrom +
        " JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.status = 'pending' AND "
        "d.next_attempt_at <= ? AND d.claimed_until <= ? AND w.enabled = 1 "
        "ORDER BY d.next_attempt_at LIMIT ?";
    Stmt s(db_, sql.c_str());
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    s.Bind(now).Bind(now).Bind(static_cast<int64_t>(limit));
    int rc;
    constexpr int c = store_rules::kDeliveryColumnCount;
    while ((rc = s.Step()) == SQLITE_ROW) {
      ClaimedDelivery cd;
      cd.delivery = RowToDelivery(s);
      cd.payload = s.Text(c);
      cd.event_created_at = s.Int(c + 1);
      cd.url = s.Text(c + 2);
      WebhookEndpoint ep;
      ep.secret = s.Text(c + 3);
      ep.previous_secret = s.Text(c + 4);
      ep.previous_secret_expires_at = s.OptInt(c + 5);
      cd.secrets = store_rules::SigningSecrets(ep, now);
      cd.claim_id = NewId("claim");
      out.push_back(std::move(cd));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "read deliveries");
  }
  for (const ClaimedDelivery& cd : out) {
    Stmt u(db_, "UPDATE webhook_deliveries SET claim_id = ?, claimed_until = ? WHERE id = ?");
    KEYWARD_RETURN_IF_ERROR(u.PrepareStatus());
    u.Bind(cd.claim_id).Bind(claim_until).Bind(cd.delivery.id);
    KEYWARD_RETURN_IF_ERROR(u.Run());
  }
  KEYWARD_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Status SqliteStore::FinishWebhookDelivery(const DeliveryOutcome& o) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_,
         "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, "
         "last_attempt_at = ?, response_status = ?, latency_ms = ?, error = ?, claim_id = '', "
         "claimed_until = 0 WHERE id = ? AND claim_id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(DeliveryStatusName(o.status)).Bind(o.next_attempt_at).Bind(o.attempted_at);
  s.Bind(o.response_status ? std::optional<int64_t>(*o.response_status) : std::nullopt);
  s.Bind(o.latency_ms).Bind(o.error).Bind(o.delivery_id).Bind(o.claim_id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return Status::Ok();  // the claim lapsed: not ours now
  if (!o.disable_reason.empty()) {
    Stmt w(db_,
           "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ?, "
           "version = version + 1 WHERE enabled = 1 AND id = (SELECT endpoint_id FROM "
           "webhook_deliveries WHERE id = ?)");
    KEYWARD_RETURN_IF_ERROR(w.PrepareStatus());
    w.Bind(o.disable_reason).Bind(o.attempted_at).Bind(o.delivery_id);
    KEYWARD_RETURN_IF_ERROR(w.Run());
    if (sqlite3_changes(db_) > 0 && o.disable_audit) {
      KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(*o.disable_audit));
    }
  }
  return tx.Commit();
}

Result<Page<WebhookDelivery>> SqliteStore::ListWebhookDeliveries(std::string_view endpoint_id,
                                                                 const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(page.limit));
  MutexLock lock(&mu_);
  int64_t cursor_at = 0;
  std::string cursor_id;
  if (!page.cursor.empty()) {
    Stmt c(db_, "SELECT created_at, id FROM webhook_deliveries WHERE id = ? AND endpoint_id = ?");
    KEYWARD_RETURN_IF_ERROR(c.PrepareStatus());
    c.Bind(page.cursor).Bind(endpoint_id);
    const int rc = c.Step();
    if (rc == SQLITE_DONE) return Status::InvalidRequest("unknown cursor");
    if (rc != SQLITE_ROW) return SqliteError(db_, "read cursor");
    cursor_at = c.Int(0);
    cursor_id = c.Text(1);
  }
  const std::string sql = std::string("SELECT ") + kDeliveryColumns + kDeliveryFrom +
                          " WHERE d.endpoint_id = ? AND (? = '' OR (d.created_at, d.id) < (?, ?)) "
                          "ORDER BY d.created_at DESC, d.id DESC LIMIT ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(endpoint_id).Bind(cursor_id).Bind(cursor_at).Bind(cursor_id);
  return ReadPage<WebhookDelivery>(db_, s, page.limit, RowToDelivery,
                                   [](const WebhookDelivery& d) { return d.id; });
}

Result<WebhookDelivery> SqliteStore::GetWebhookDelivery(std::string_view id) {
  MutexLock lock(&mu_);
  const std::string sql =
      std::string("SELECT ") + kDeliveryColumns + kDeliveryFrom + " WHERE d.id = ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return RowToDelivery(s);
  if (rc == SQLITE_DONE) return Status::NotFound("no webhook delivery " + std::string(id));
  return SqliteError(db_, "read webhook delivery");
}

Status SqliteStore::RetryWebhookDelivery(std::string_view id, Timestamp now,
                                         const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  Stmt s(db_, "SELECT status FROM webhook_deliveries WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no webhook delivery " + std::string(id));
  if (rc != SQLITE_ROW) return SqliteError(db_, "read webhook delivery");
  if (s.Text(0) == "pending") {
    return Status::Conflict("webhook delivery " + std::string(id) +
                            " is still pending; it will be attempted again on its own");
  }
  Stmt u(db_,
         "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, manual = 1, "
         "claim_id = '', claimed_until = 0 WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(u.PrepareStatus());
  u.Bind(now).Bind(id);
  KEYWARD_RETURN_IF_ERROR(u.Run());
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Status SqliteStore::PruneWebhooks(Timestamp before) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  KEYWARD_RETURN_IF_ERROR(
      Exec(("DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < " +
            std::to_string(before))
               .c_str()));
  KEYWARD_RETURN_IF_ERROR(
      Exec((std::string("DELETE FROM webhook_events WHERE ") + store_rules::kPrunableEvents +
            " < " + std::to_string(before) +
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = "
            "webhook_events.seq)")
               .c_str()));
  return tx.Commit();
}

}  // namespace keyward
