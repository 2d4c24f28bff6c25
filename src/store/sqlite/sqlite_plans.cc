// The SQLite engine's plans (KeyStore's plan methods): what a workspace
// buys. Inserting or updating a plan appends kPolicyChange to the change
// log in its transaction, so that every node drops what it caches of the
// limits the plan sets. Thread-safe: under the store's connection mutex.
#include <sqlite3.h>

#include "core/mutex.h"
#include "store/rules.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace keyward {

using namespace sqlite_internal;  // NOLINT: the engine's own helpers
using store_rules::kPlanColumns;

namespace {
Plan RowToPlan(const Stmt& s) { return store_rules::PlanFromRow(s); }
}  // namespace

Status SqliteStore::CheckPlanLocked(const std::string& plan_id) {
  if (plan_id.empty()) return Status::Ok();
  Stmt s(db_, "SELECT 1 FROM plans WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(plan_id);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return Status::Ok();
  if (rc == SQLITE_DONE) return store_rules::NoSuchPlan(plan_id);
  return SqliteError(db_, "read plan");
}

Status SqliteStore::InsertPlan(const Plan& plan, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  const std::string sql =
      std::string("INSERT INTO plans (") + kPlanColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindPlan(s, plan);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  KEYWARD_RETURN_IF_ERROR(LogKeyChangeLocked(kPolicyChange, audit.at));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

Result<Plan> SqliteStore::GetPlan(std::string_view id) {
  MutexLock lock(&mu_);
  const std::string sql = std::string("SELECT ") + kPlanColumns + " FROM plans WHERE id = ?";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(id);
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return RowToPlan(s);
  if (rc == SQLITE_DONE) return Status::NotFound("no plan " + std::string(id));
  return SqliteError(db_, "read plan");
}

Result<std::vector<Plan>> SqliteStore::ListPlans() {
  MutexLock lock(&mu_);
  const std::string sql = std::string("SELECT ") + kPlanColumns + " FROM plans ORDER BY id";
  Stmt s(db_, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  std::vector<Plan> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(RowToPlan(s));
  if (rc != SQLITE_DONE) return SqliteError(db_, "read plans");
  return out;
}

Status SqliteStore::UpdatePlan(const Plan& plan, const AuditEntry& audit) {
  MutexLock lock(&mu_);
  Transaction tx(db_);
  KEYWARD_RETURN_IF_ERROR(tx.BeginStatus());
  // Every column but created_at, which stays the plan's first.
  Stmt s(db_,
         "UPDATE plans SET name = ?, monthly_credits = ?, rate_limit_limit = ?, "
         "rate_limit_period = ?, max_active_keys = ?, cost_rules = ?, from_config = ?, "
         "updated_at = ? WHERE id = ?");
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  store_rules::BindPlanUpdate(s, plan);
  s.Bind(plan.id);
  KEYWARD_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no plan " + plan.id);
  KEYWARD_RETURN_IF_ERROR(LogKeyChangeLocked(kPolicyChange, audit.at));
  KEYWARD_RETURN_IF_ERROR(InsertAuditLocked(audit));
  return tx.Commit();
}

}  // namespace keyward
