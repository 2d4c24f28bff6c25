// The PostgreSQL engine's webhooks (KeyStore's webhook methods), as
// store/sqlite/sqlite_webhooks.cc has them for SQLite, the rules, columns
// and lifecycle SQL shared through store/webhook_rules.h. Several nodes
// work on one database at once, so:
//  - fanning out locks the events it takes (FOR UPDATE SKIP LOCKED): two
//    workers never fan out one event; it also key-share-locks the endpoints
//    it makes deliveries to, so that a deletion waits for it (or it for the
//    deletion) and no delivery is left to an endpoint that is gone;
//  - a claim locks the deliveries it takes (FOR UPDATE OF d SKIP LOCKED),
//    so two workers never claim one delivery while its claim lasts;
//  - endpoints are counted under the workspace row's lock, or for the
//    operator's under an advisory lock, so two inserts cannot both pass the
//    limit.
// Thread-safe: each call on a pooled connection of its own.
#include <algorithm>

#include "core/random.h"
#include "store/postgres/pg_queries.h"
#include "store/postgres/pg_store.h"
#include "store/webhook_rules.h"

namespace keyward {
namespace {

using namespace pg_internal;  // NOLINT: the engine's own helpers
using store_rules::kDeliveryColumns;
using store_rules::kDeliveryFrom;
using store_rules::kEndpointColumns;

// Fan-out takes at most this many events per claim, oldest first.
constexpr int kFanOutBatch = 500;

WebhookEndpoint RowToEndpoint(const Row& r) { return store_rules::EndpointFromRow(r); }
WebhookDelivery RowToDelivery(const Row& r) { return store_rules::DeliveryFromRow(r); }

Status NoEndpoint(std::string_view id) {
  return Status::NotFound("no webhook endpoint " + std::string(id));
}
Status NoDelivery(std::string_view id) {
  return Status::NotFound("no webhook delivery " + std::string(id));
}

// Fans out the oldest events not yet fanned out, in c's transaction: one
// pending delivery to each enabled endpoint that wants the event.
Status FanOut(PgConnection& c) {
  struct Pending {
    int64_t seq;
    WebhookEvent event;
  };
  std::vector<Pending> pending;
  {
    // Events another worker is fanning out are skipped, not waited for:
    // they are its to fan out.
    const std::string sql = Sql({"SELECT ", store_rules::kFanOutEventColumns,
                                 " FROM webhook_events WHERE fanned_out = 0 ORDER BY seq "
                                 "LIMIT ",
                                 std::to_string(kFanOutBatch), " FOR UPDATE SKIP LOCKED"});
    auto rows = c.Query(sql.c_str());
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      const Row r = rows->row(i);
      Pending p;
      p.seq = r.Int(0);
      p.event.id = r.Text(1);
      p.event.type = r.Text(2);
      p.event.workspace_id = r.Text(3);
      p.event.created_at = r.Int(4);
      p.event.environment = r.Text(5);
      pending.push_back(std::move(p));
    }
  }
  if (pending.empty()) return Status::Ok();
  std::vector<WebhookEndpoint> endpoints;
  {
    const std::string sql =
        Sql({"SELECT ", kEndpointColumns, " FROM webhook_endpoints WHERE enabled = 1"});
    auto rows = c.Query(sql.c_str());
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) endpoints.push_back(RowToEndpoint(rows->row(i)));
  }
  std::vector<std::string> ids, endpoint_ids;
  std::vector<int64_t> seqs, ats, fanned;
  for (const Pending& p : pending) {
    fanned.push_back(p.seq);
    for (const WebhookEndpoint& ep : endpoints) {
      if (!store_rules::FansOutTo(ep, p.event)) continue;
      ids.push_back(NewId("whd"));
      endpoint_ids.push_back(ep.id);
      seqs.push_back(p.seq);
      ats.push_back(p.event.created_at);
    }
  }
  if (!ids.empty()) {
    // The endpoints are key-share-locked to commit: a DeleteWebhookEndpoint
    // under way is waited for (and its endpoint then gets nothing), one that
    // comes later waits for this and deletes these deliveries too. Updates
    // of an endpoint do not wait. UNIQUE (event_seq, endpoint_id): an event
    // is delivered once per endpoint even if it were fanned out twice.
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("INSERT INTO webhook_deliveries (id, endpoint_id, event_seq, status, "
               "next_attempt_at, created_at) SELECT t.id, t.endpoint_id, t.event_seq, 'pending', "
               "t.at, t.at "
               "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) "
               "AS t (id, endpoint_id, event_seq, at) WHERE t.endpoint_id IN (SELECT w.id FROM "
               "webhook_endpoints w WHERE w.id = ANY($2::text[]) FOR KEY SHARE) "
               "ON CONFLICT DO NOTHING",
               Params()
                   .Bind(ArrayLiteral(ids))
                   .Bind(ArrayLiteral(endpoint_ids))
                   .Bind(IntArrayLiteral(seqs))
                   .Bind(IntArrayLiteral(ats))));
  }
  return c.Exec("UPDATE webhook_events SET fanned_out = 1 WHERE seq = ANY($1::bigint[])",
                Params().Bind(IntArrayLiteral(fanned)));
}

}  // namespace

// ---- Endpoints ----

Status PgStore::InsertWebhookEndpoint(const WebhookEndpoint& ep, int max_per_owner,
                                      const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    // Held to commit: a racing insert for the same owner counts after this
    // one's row is there.
    if (ep.workspace_id.empty()) {
      KEYWARD_RETURN_IF_ERROR(
          c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Bind(kOperatorEndpointsLock)));
    } else {
      KEYWARD_RETURN_IF_ERROR(LockWorkspace(c, ep.workspace_id));
    }
    Builder b;
    const std::string where =
        ep.workspace_id.empty() ? std::string(" IS NULL") : " = " + b.Arg(ep.workspace_id);
    auto count = c.Query(
        ("SELECT COUNT(*) FROM webhook_endpoints WHERE workspace_id" + where).c_str(), b.params);
    if (!count.ok()) return count.status();
    if (count->row(0).Int(0) >= max_per_owner) {
      return store_rules::TooManyEndpoints(ep.workspace_id, max_per_owner);
    }
    Params p;
    store_rules::BindEndpoint(p, ep);
    const std::string sql =
        Sql({"INSERT INTO webhook_endpoints (", kEndpointColumns,
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"});
    Status s = c.Exec(sql.c_str(), p);
    if (s.code() == Code::kConflict) {
      return Status::Conflict("webhook endpoint " + ep.id + " already exists");
    }
    KEYWARD_RETURN_IF_ERROR(s);
    return InsertAudit(c, audit);
  });
}

Result<WebhookEndpoint> PgStore::GetWebhookEndpoint(std::string_view id) {
  return Read<WebhookEndpoint>([&](PgConnection& c) -> Result<WebhookEndpoint> {
    const std::string sql =
        Sql({"SELECT ", kEndpointColumns, " FROM webhook_endpoints WHERE id = $1"});
    return One<WebhookEndpoint>(c.Query(sql.c_str(), Params().Bind(id)), RowToEndpoint,
                                "no webhook endpoint " + std::string(id));
  });
}

Result<std::vector<WebhookEndpoint>> PgStore::ListWebhookEndpoints(
    const std::optional<std::string>& workspace_id) {
  std::vector<WebhookEndpoint> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    Builder b;
    std::string sql = Sql({"SELECT ", kEndpointColumns, " FROM webhook_endpoints"});
    if (workspace_id) {
      sql += workspace_id->empty() ? " WHERE workspace_id IS NULL"
                                   : " WHERE workspace_id = " + b.Arg(*workspace_id);
    }
    // Ids in byte order, as SQLite sorts them, whatever the database's collation.
    sql += " ORDER BY created_at, id COLLATE \"C\"";
    auto rows = c.Query(sql.c_str(), b.params);
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) out.push_back(RowToEndpoint(rows->row(i)));
    return Status::Ok();
  }));
  return out;
}

Status PgStore::UpdateWebhookEndpoint(const WebhookEndpoint& ep, const AuditEntry& audit,
                                      bool* stale) {
  return Transact([&](PgConnection& c) -> Status {
    Params p;
    store_rules::BindEndpointUpdate(p, ep);
    p.Bind(ep.id).Bind(ep.version);
    const std::string sql =
        Numbered(Sql({"UPDATE webhook_endpoints SET ", store_rules::kEndpointUpdateSet,
                      " WHERE id = ? AND version = ?"}));
    auto rows = c.Query(sql.c_str(), p);
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) {
      auto exists = c.Query("SELECT 1 FROM webhook_endpoints WHERE id = $1", Params().Bind(ep.id));
      if (!exists.ok()) return exists.status();
      if (exists->rows() == 0) return NoEndpoint(ep.id);
      if (stale != nullptr) *stale = true;
      return Status::Conflict("webhook endpoint " + ep.id + " changed meanwhile");
    }
    return InsertAudit(c, audit);
  });
}

Status PgStore::DeleteWebhookEndpoint(std::string_view id, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    auto rows = c.Query("DELETE FROM webhook_endpoints WHERE id = $1", Params().Bind(id));
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) return NoEndpoint(id);
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", Params().Bind(id)));
    return InsertAudit(c, audit);
  });
}

// ---- Events ----

Result<int> PgStore::InsertWebhookEvents(const std::vector<WebhookEvent>& events) {
  int n = 0;
  KEYWARD_RETURN_IF_ERROR(Transact([&](PgConnection& c) -> Status {
    n = 0;  // counted again when the transaction is retried
    for (const WebhookEvent& e : events) {
      bool inserted = false;
      KEYWARD_RETURN_IF_ERROR(InsertWebhookEvent(c, e, &inserted));
      n += inserted ? 1 : 0;
    }
    return Status::Ok();
  }));
  return n;
}

Result<int> PgStore::RaiseLifecycleEvents(const LifecycleRules& rules, Timestamp now, int limit) {
  int64_t last_seq = 0;
  KEYWARD_RETURN_IF_ERROR(Transact([&](PgConnection& c) -> Status {
    auto rows = c.Query("SELECT COALESCE(MAX(seq), 0) FROM api_keys", Params());
    if (!rows.ok()) return rows.status();
    last_seq = rows->row(0).Int(0);
    return Status::Ok();
  }));
  const int64_t range = std::max<int64_t>(rules.keys_per_range, 1);
  // A range of keys a transaction, as on SQLite.
  int n = 0;
  for (int64_t after = 0; after < last_seq; after += range) {
    int raised = 0;
    KEYWARD_RETURN_IF_ERROR(Transact([&](PgConnection& c) -> Status {
      raised = 0;
      for (const auto& q : store_rules::LifecycleQueries(rules, now, limit, after, after + range)) {
        Params p;
        for (int64_t v : q.params) p.Bind(v);
        auto rows = c.Query(Numbered(q.sql).c_str(), p);
        if (!rows.ok()) return rows.status();
        for (int i = 0; i < rows->rows(); ++i) {
          // Another node raising the same event at once: its dedupe key
          // makes one of the two a no-op.
          bool inserted = false;
          KEYWARD_RETURN_IF_ERROR(InsertWebhookEvent(
              c, store_rules::LifecycleEventFromRow(q, rows->row(i), now), &inserted));
          raised += inserted ? 1 : 0;
        }
      }
      return Status::Ok();
    }));
    n += raised;
  }
  return n;
}

// ---- Deliveries ----

Result<std::vector<ClaimedDelivery>> PgStore::ClaimWebhookDeliveries(Timestamp now,
                                                                     Timestamp claim_until,
                                                                     int limit) {
  std::vector<ClaimedDelivery> out;
  KEYWARD_RETURN_IF_ERROR(Transact([&](PgConnection& c) -> Status {
    out.clear();
    KEYWARD_RETURN_IF_ERROR(FanOut(c));
    // Deliveries another worker is claiming are skipped; one whose claim
    // was just written no longer matches claimed_until when rechecked.
    const std::string sql =
        Sql({"SELECT ", kDeliveryColumns,
             ", e.payload, e.created_at, w.url, w.secret, w.previous_secret, "
             "w.previous_secret_expires_at",
             kDeliveryFrom,
             " JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.status = 'pending' AND "
             "d.next_attempt_at <= $1 AND d.claimed_until <= $1 AND w.enabled = 1 "
             "ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED"});
    auto rows = c.Query(sql.c_str(), Params().Bind(now).Bind(static_cast<int64_t>(limit)));
    if (!rows.ok()) return rows.status();
    constexpr int k = store_rules::kDeliveryColumnCount;
    std::vector<std::string> ids, claim_ids;
    for (int i = 0; i < rows->rows(); ++i) {
      const Row r = rows->row(i);
      ClaimedDelivery cd;
      cd.delivery = RowToDelivery(r);
      cd.payload = r.Text(k);
      cd.event_created_at = r.Int(k + 1);
      cd.url = r.Text(k + 2);
      WebhookEndpoint ep;
      ep.secret = r.Text(k + 3);
      ep.previous_secret = r.Text(k + 4);
      ep.previous_secret_expires_at = r.OptInt(k + 5);
      cd.secrets = store_rules::SigningSecrets(ep, now);
      cd.claim_id = NewId("claim");
      ids.push_back(cd.delivery.id);
      claim_ids.push_back(cd.claim_id);
      out.push_back(std::move(cd));
    }
    if (ids.empty()) return Status::Ok();
    return c.Exec(
        "UPDATE webhook_deliveries d SET claim_id = t.claim_id, claimed_until = $3 "
        "FROM unnest($1::text[], $2::text[]) AS t (id, claim_id) WHERE d.id = t.id",
        Params().Bind(ArrayLiteral(ids)).Bind(ArrayLiteral(claim_ids)).Bind(claim_until));
  }));
  return out;
}

Status PgStore::FinishWebhookDelivery(const DeliveryOutcome& o) {
  return Transact([&](PgConnection& c) -> Status {
    auto rows = c.Query(
        "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, "
        "next_attempt_at = $2, last_attempt_at = $3, response_status = $4, latency_ms = $5, "
        "error = $6, claim_id = '', claimed_until = 0 WHERE id = $7 AND claim_id = $8",
        Params()
            .Bind(DeliveryStatusName(o.status))
            .Bind(o.next_attempt_at)
            .Bind(o.attempted_at)
            .Bind(o.response_status ? std::optional<int64_t>(*o.response_status) : std::nullopt)
            .Bind(o.latency_ms)
            .Bind(o.error)
            .Bind(o.delivery_id)
            .Bind(o.claim_id));
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) return Status::Ok();  // the claim lapsed: not ours now
    if (o.disable_reason.empty()) return Status::Ok();
    auto disabled = c.Query(
        "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, updated_at = $2, "
        "version = version + 1 WHERE enabled = 1 AND id = (SELECT endpoint_id FROM "
        "webhook_deliveries WHERE id = $3)",
        Params().Bind(o.disable_reason).Bind(o.attempted_at).Bind(o.delivery_id));
    if (!disabled.ok()) return disabled.status();
    if (disabled->affected() > 0 && o.disable_audit) return InsertAudit(c, *o.disable_audit);
    return Status::Ok();
  });
}

Result<Page<WebhookDelivery>> PgStore::ListWebhookDeliveries(std::string_view endpoint_id,
                                                             const PageRequest& page) {
  KEYWARD_RETURN_IF_ERROR(store_rules::CheckLimit(page.limit));
  return Read<Page<WebhookDelivery>>([&](PgConnection& c) -> Result<Page<WebhookDelivery>> {
    Builder b;
    std::string sql = Sql({"SELECT ", kDeliveryColumns, kDeliveryFrom, " WHERE d.endpoint_id = "}) +
                      b.Arg(endpoint_id);
    if (!page.cursor.empty()) {
      auto cursor = c.Query(
          "SELECT created_at, id FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2",
          Params().Bind(page.cursor).Bind(endpoint_id));
      if (!cursor.ok()) return cursor.status();
      if (cursor->rows() == 0) return Status::InvalidRequest("unknown cursor");
      const std::string at = b.Arg(cursor->row(0).Int(0));
      const std::string id = b.Arg(cursor->row(0).Text(1));
      sql += " AND (d.created_at < " + at + " OR (d.created_at = " + at + " AND d.id < " + id +
             " COLLATE \"C\"))";
    }
    // Newest first, ties by id in byte order, as SQLite pages them.
    sql += " ORDER BY d.created_at DESC, d.id COLLATE \"C\" DESC LIMIT ";
    return ReadPage<WebhookDelivery>(c, b, sql, page.limit, RowToDelivery,
                                     [](const WebhookDelivery& d) { return d.id; });
  });
}

Result<WebhookDelivery> PgStore::GetWebhookDelivery(std::string_view id) {
  return Read<WebhookDelivery>([&](PgConnection& c) -> Result<WebhookDelivery> {
    const std::string sql = Sql({"SELECT ", kDeliveryColumns, kDeliveryFrom, " WHERE d.id = $1"});
    return One<WebhookDelivery>(c.Query(sql.c_str(), Params().Bind(id)), RowToDelivery,
                                "no webhook delivery " + std::string(id));
  });
}

Status PgStore::RetryWebhookDelivery(std::string_view id, Timestamp now, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    // Locked to commit: a worker finishing it or a prune waits for this.
    auto rows = c.Query("SELECT status FROM webhook_deliveries WHERE id = $1 FOR UPDATE",
                        Params().Bind(id));
    if (!rows.ok()) return rows.status();
    if (rows->rows() == 0) return NoDelivery(id);
    if (rows->row(0).Text(0) == "pending") {
      return Status::Conflict("webhook delivery " + std::string(id) +
                              " is still pending; it will be attempted again on its own");
    }
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, "
               "manual = 1, claim_id = '', claimed_until = 0 WHERE id = $2",
               Params().Bind(now).Bind(id)));
    return InsertAudit(c, audit);
  });
}

Status PgStore::PruneWebhooks(Timestamp before) {
  return Transact([&](PgConnection& c) -> Status {
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1",
               Params().Bind(before)));
    const std::string sql =
        Sql({"DELETE FROM webhook_events WHERE ", store_rules::kPrunableEvents,
             " < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = "
             "webhook_events.seq)"});
    return c.Exec(sql.c_str(), Params().Bind(before));
  });
}

}  // namespace keyward
