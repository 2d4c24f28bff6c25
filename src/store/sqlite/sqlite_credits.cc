// The SQLite engine's credits (KeyStore's credit methods, and what
// RecordUsage does with a batch's credits): per balance and period the
// credits spent (credit_balances), what each node holds of them
// (credit_leases) and the thresholds reached (credit_thresholds). SQLite
// writes one transaction at a time (BEGIN IMMEDIATE), so a lease reads and
// grants with no other writer in between.
// Thread-safe: under the store's connection mutex.
#include <sqlite3.h>

#include "core/clock.h"
#include "core/mutex.h"
#include "store/rules.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace keyward {
namespace {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers

// What a lease decision reads of a balance.
struct BalanceState {
  int64_t spent = 0;
  int64_t held_by_all = 0;  // live leases, the node's own included
  int64_t held_by_node = 0;
};

// Reads the balance at now: leases of other nodes past their expiry count
// as gone (LeaseCredits drops them before it grants).
Result<BalanceState> ReadBalance(sqlite3* db, const CreditBalanceId& id, std::string_view node_id,
                                 Timestamp now) {
  BalanceState b;
  {
    Stmt s(db, "SELECT spent FROM credit_balances WHERE balance = ? AND period_start = ?");
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    s.Bind(id.balance).Bind(id.period_start);
    const int rc = s.Step();
    if (rc == SQLITE_ROW) b.spent = s.Int(0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, "read credits");
  }
  Stmt s(db,
         "SELECT COALESCE(SUM(held), 0), COALESCE(SUM(CASE WHEN node_id = ?3 THEN held END), 0) "
         "FROM credit_leases WHERE balance = ?1 AND period_start = ?2 "
         "AND (node_id = ?3 OR expires_at >= ?4)");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id.balance).Bind(id.period_start).Bind(node_id).Bind(now);
  if (s.Step() != SQLITE_ROW) return SqliteError(db, "read credit leases");
  b.held_by_all = s.Int(0);
  b.held_by_node = s.Int(1);
  return b;
}

}  // namespace

Status SqliteStore::RecordCreditsLocked(const UsageBatch& batch) {
  if (!batch.credits.empty()) {
    Stmt spend(db_,
               "INSERT INTO credit_balances (balance, period_start, spent) VALUES (?, ?, ?) "
               "ON CONFLICT (balance, period_start) DO UPDATE SET spent = spent + excluded.spent "
               "RETURNING spent");
    Stmt release(db_,
                 "UPDATE credit_leases SET held = MAX(held - ?, 0) "
                 "WHERE balance = ? AND period_start = ? AND node_id = ?");
    Stmt reached(db_,
                 "INSERT INTO credit_thresholds (balance, period_start, threshold, at) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
    KEYWARD_RETURN_IF_ERROR(spend.PrepareStatus());
    KEYWARD_RETURN_IF_ERROR(release.PrepareStatus());
    KEYWARD_RETURN_IF_ERROR(reached.PrepareStatus());
    // The store has no clock of its own (times come from the caller, and a
    // batch carries none), so a threshold is dated by the system's.
    const Timestamp now = SystemClock::Get().Now();
    for (const CreditSpend& c : batch.credits) {
      spend.Reset();
      spend.Bind(c.id.balance).Bind(c.id.period_start).Bind(c.amount);
      if (spend.Step() != SQLITE_ROW) return SqliteError(db_, "write credits");
      const int64_t spent = spend.Int(0);
      KEYWARD_RETURN_IF_ERROR(spend.Run());  // steps past RETURNING's row to the end
      if (!batch.node_id.empty()) {
        release.Reset();
        release.Bind(c.amount).Bind(c.id.balance).Bind(c.id.period_start).Bind(batch.node_id);
        KEYWARD_RETURN_IF_ERROR(release.Run());
      }
      for (const int t : store_rules::CreditThresholdsReached(spent, c.limit)) {
        reached.Reset();
        reached.Bind(c.id.balance).Bind(c.id.period_start).Bind(int64_t{t}).Bind(now);
        KEYWARD_RETURN_IF_ERROR(reached.Run());
        // Only the batch that records it audits it: once per period.
        if (sqlite3_changes(db_) == 1) {
          KEYWARD_RETURN_IF_ERROR(
              InsertAuditLocked(store_rules::CreditThresholdAudit(c, spent, t, now)));
        }
      }
    }
  }
  if (batch.node_id.empty()) return Status::Ok();
  Stmt renew(db_, "UPDATE credit_leases SET expires_at = ? WHERE node_id = ?");
  KEYWARD_RETURN_IF_ERROR(renew.PrepareStatus());
  renew.Bind(batch.lease_expires_at).Bind(batch.node_id);
  return renew.Run();
}

Result<CreditLease> SqliteStore::LeaseCredits(const CreditLeaseRequest& r) {
  MutexLock lock(&mu_);
  if (r.want <= 0) {
    // Only a read: nothing dropped, nothing written.
    auto b = ReadBalance(db_, r.id, r.node_id, r.now);
    if (!b.ok()) return b.status();
    return CreditLease{0, b->spent, b->held_by_node, r.limit - b->spent - b->held_by_all};
  }
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  {
    // Credits held by a node that stopped renewing go back to the balance.
    Stmt drop(db_,
              "DELETE FROM credit_leases WHERE balance = ? AND period_start = ? AND node_id != ? "
              "AND expires_at < ?");
    KEYWARD_RETURN_IF_ERROR(drop.PrepareStatus());
    drop.Bind(r.id.balance).Bind(r.id.period_start).Bind(r.node_id).Bind(r.now);
    KEYWARD_RETURN_IF_ERROR(drop.Run());
  }
  auto b = ReadBalance(db_, r.id, r.node_id, r.now);
  if (!b.ok()) return b.status();
  const int64_t available = r.limit - b->spent - b->held_by_all;
  const int64_t granted = store_rules::CreditGrant(available, r.min, r.want);
  if (granted > 0) {
    Stmt grant(db_,
               "INSERT INTO credit_leases (balance, period_start, node_id, held, expires_at) "
               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (balance, period_start, node_id) DO UPDATE "
               "SET held = held + excluded.held, expires_at = excluded.expires_at");
    KEYWARD_RETURN_IF_ERROR(grant.PrepareStatus());
    grant.Bind(r.id.balance).Bind(r.id.period_start).Bind(r.node_id).Bind(granted);
    grant.Bind(r.expires_at);
    KEYWARD_RETURN_IF_ERROR(grant.Run());
  }
  KEYWARD_RETURN_IF_ERROR(tx.Commit());
  return CreditLease{granted, b->spent, b->held_by_node + granted, available - granted};
}

Status SqliteStore::ReleaseCredits(std::string_view node_id,
                                   const std::vector<CreditBalanceId>& balances) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  if (balances.empty()) {
    Stmt s(db_, "DELETE FROM credit_leases WHERE node_id = ?");
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    s.Bind(node_id);
    KEYWARD_RETURN_IF_ERROR(s.Run());
  } else {
    Stmt s(db_, "DELETE FROM credit_leases WHERE balance = ? AND period_start = ? AND node_id = ?");
    KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
    for (const CreditBalanceId& id : balances) {
      s.Reset();
      s.Bind(id.balance).Bind(id.period_start).Bind(node_id);
      KEYWARD_RETURN_IF_ERROR(s.Run());
    }
  }
  return tx.Commit();
}

Result<int64_t> SqliteStore::CreditsSpent(const CreditBalanceId& id) {
  MutexLock lock(&mu_);
  Stmt s(db_, "SELECT spent FROM credit_balances WHERE balance = ? AND period_start = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id.balance).Bind(id.period_start);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return s.Int(0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return SqliteError(db_, "read credits");
}

}  // namespace keyward
