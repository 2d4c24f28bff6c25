// The PostgreSQL engine's credits (KeyStore's credit methods, and what
// RecordUsage does with a batch's credits): per balance and period the
// credits spent (credit_balances), what each node holds of them
// (credit_leases) and the thresholds reached (credit_thresholds).
//
// Nodes lease from one balance at once: each lease locks the balance's row
// (made first if need be) before it sums the leases and grants, and a flush
// locks it too (its upsert) before it moves credits from a lease to spent,
// so that spent plus what is held never passes the limit through a race.
// Thread-safe: each call on a pooled connection of its own.
#include <map>
#include <utility>

#include "core/clock.h"
#include "store/postgres/pg_queries.h"
#include "store/postgres/pg_store.h"
#include "store/rules.h"

namespace keyward {

using namespace pg_internal;  // NOLINT: the engine's own helpers

Status PgStore::RecordCredits(PgConnection& c, const UsageBatch& batch) {
  // One spend per balance, in balance order, so that nodes flushing at once
  // lock balance rows in the same order.
  std::map<std::pair<std::string, Timestamp>, CreditSpend> spends;
  for (const CreditSpend& s : batch.credits) {
    auto [it, fresh] = spends.try_emplace({s.id.balance, s.id.period_start}, s);
    if (fresh) continue;
    it->second.amount += s.amount;
    if (s.limit > 0) {
      it->second.limit = s.limit;
      it->second.workspace_id = s.workspace_id;
      it->second.environment = s.environment;
    }
  }
  // The store has no clock of its own (times come from the caller, and a
  // batch carries none), so a threshold is dated by the system's.
  const Timestamp now = spends.empty() ? 0 : SystemClock::Get().Now();
  for (const auto& [id, s] : spends) {
    auto spent = c.Query(
        "INSERT INTO credit_balances (balance, period_start, spent) VALUES ($1, $2, $3) "
        "ON CONFLICT (balance, period_start) DO UPDATE "
        "SET spent = credit_balances.spent + excluded.spent RETURNING spent",
        Params().Bind(s.id.balance).Bind(s.id.period_start).Bind(s.amount));
    if (!spent.ok()) return spent.status();
    const int64_t total = spent->row(0).Int(0);
    if (!batch.node_id.empty()) {
      KEYWARD_RETURN_IF_ERROR(c.Exec(
          "UPDATE credit_leases SET held = GREATEST(held - $1, 0) "
          "WHERE balance = $2 AND period_start = $3 AND node_id = $4",
          Params().Bind(s.amount).Bind(s.id.balance).Bind(s.id.period_start).Bind(batch.node_id)));
    }
    for (const int t : store_rules::CreditThresholdsReached(total, s.limit)) {
      auto reached = c.Query(
          "INSERT INTO credit_thresholds (balance, period_start, threshold, at) "
          "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
          Params().Bind(s.id.balance).Bind(s.id.period_start).Bind(t).Bind(now));
      if (!reached.ok()) return reached.status();
      // Only the flush that records it audits it: once per period, however
      // many nodes cross it together (the others wait on its row, then
      // insert nothing).
      if (reached->affected() == 1) {
        KEYWARD_RETURN_IF_ERROR(
            InsertAudit(c, store_rules::CreditThresholdAudit(s, total, t, now)));
      }
    }
  }
  if (batch.node_id.empty()) return Status::Ok();
  return c.Exec("UPDATE credit_leases SET expires_at = $1 WHERE node_id = $2",
                Params().Bind(batch.lease_expires_at).Bind(batch.node_id));
}

Result<CreditLease> PgStore::LeaseCredits(const CreditLeaseRequest& r) {
  if (r.want <= 0) {
    // Only a read, in one statement (one snapshot): leases of other nodes
    // past their expiry count as gone, as a lease would drop them.
    return Read<CreditLease>([&](PgConnection& c) -> Result<CreditLease> {
      auto rows = c.Query(
          "SELECT COALESCE((SELECT spent FROM credit_balances WHERE balance = $1 "
          "AND period_start = $2), 0), COALESCE(SUM(held), 0)::bigint, "
          "COALESCE(SUM(held) FILTER (WHERE node_id = $3), 0)::bigint FROM credit_leases "
          "WHERE balance = $1 AND period_start = $2 AND (node_id = $3 OR expires_at >= $4)",
          Params().Bind(r.id.balance).Bind(r.id.period_start).Bind(r.node_id).Bind(r.now));
      if (!rows.ok()) return rows.status();
      const Row row = rows->row(0);
      return CreditLease{0, row.Int(0), row.Int(2), r.limit - row.Int(0) - row.Int(1)};
    });
  }
  CreditLease out;
  KEYWARD_RETURN_IF_ERROR(Transact([&](PgConnection& c) -> Status {
    // The balance's row, made if it is the first lease of the period, then
    // locked: every lease of it waits here, so none grants from a sum
    // another is about to change.
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("INSERT INTO credit_balances (balance, period_start, spent) VALUES ($1, $2, 0) "
               "ON CONFLICT (balance, period_start) DO NOTHING",
               Params().Bind(r.id.balance).Bind(r.id.period_start)));
    auto balance = c.Query(
        "SELECT spent FROM credit_balances WHERE balance = $1 AND period_start = $2 FOR UPDATE",
        Params().Bind(r.id.balance).Bind(r.id.period_start));
    if (!balance.ok()) return balance.status();
    if (balance->rows() == 0) return Status::Internal("the credit balance row vanished");
    const int64_t spent = balance->row(0).Int(0);
    // Credits held by a node that stopped renewing go back to the balance.
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("DELETE FROM credit_leases WHERE balance = $1 AND period_start = $2 "
               "AND node_id <> $3 AND expires_at < $4",
               Params().Bind(r.id.balance).Bind(r.id.period_start).Bind(r.node_id).Bind(r.now)));
    auto held = c.Query(
        "SELECT COALESCE(SUM(held), 0)::bigint, "
        "COALESCE(SUM(held) FILTER (WHERE node_id = $3), 0)::bigint FROM credit_leases "
        "WHERE balance = $1 AND period_start = $2",
        Params().Bind(r.id.balance).Bind(r.id.period_start).Bind(r.node_id));
    if (!held.ok()) return held.status();
    const int64_t held_by_all = held->row(0).Int(0);
    const int64_t held_by_node = held->row(0).Int(1);
    const int64_t available = r.limit - spent - held_by_all;
    const int64_t granted = store_rules::CreditGrant(available, r.min, r.want);
    if (granted > 0) {
      KEYWARD_RETURN_IF_ERROR(c.Exec(
          "INSERT INTO credit_leases (balance, period_start, node_id, held, expires_at) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (balance, period_start, node_id) DO UPDATE "
          "SET held = credit_leases.held + excluded.held, expires_at = excluded.expires_at",
          Params()
              .Bind(r.id.balance)
              .Bind(r.id.period_start)
              .Bind(r.node_id)
              .Bind(granted)
              .Bind(r.expires_at)));
    }
    out = CreditLease{granted, spent, held_by_node + granted, available - granted};
    return Status::Ok();
  }));
  return out;
}

Status PgStore::ReleaseCredits(std::string_view node_id,
                               const std::vector<CreditBalanceId>& balances) {
  return Transact([&](PgConnection& c) -> Status {
    if (balances.empty()) {
      return c.Exec("DELETE FROM credit_leases WHERE node_id = $1", Params().Bind(node_id));
    }
    std::vector<std::string> names;
    std::vector<int64_t> starts;
    for (const CreditBalanceId& id : balances) {
      names.push_back(id.balance);
      starts.push_back(id.period_start);
    }
    return c.Exec(
        "DELETE FROM credit_leases AS l USING unnest($1::text[], $2::bigint[]) AS b (balance, "
        "period_start) WHERE l.node_id = $3 AND l.balance = b.balance "
        "AND l.period_start = b.period_start",
        Params().Bind(ArrayLiteral(names)).Bind(IntArrayLiteral(starts)).Bind(node_id));
  });
}

Result<int64_t> PgStore::CreditsSpent(const CreditBalanceId& id) {
  return Read<int64_t>([&](PgConnection& c) -> Result<int64_t> {
    auto rows =
        c.Query("SELECT spent FROM credit_balances WHERE balance = $1 AND period_start = $2",
                Params().Bind(id.balance).Bind(id.period_start));
    if (!rows.ok()) return rows.status();
    return rows->rows() ? rows->row(0).Int(0) : int64_t{0};
  });
}

}  // namespace keyward
