// The PostgreSQL engine's plans (KeyStore's plan methods): what a workspace
// buys. Inserting or updating a plan appends kPolicyChange to the change
// log in its transaction, so that every node drops what it caches of the
// limits the plan sets. Thread-safe: each call on a pooled connection of
// its own.
#include "store/postgres/pg_queries.h"
#include "store/postgres/pg_store.h"
#include "store/rules.h"

namespace keyward {

using namespace pg_internal;  // NOLINT: the engine's own helpers
using store_rules::kPlanColumns;

Status PgStore::InsertPlan(const Plan& plan, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    Params p;
    store_rules::BindPlan(p, plan);
    const std::string sql = Sql({"INSERT INTO plans (", kPlanColumns,
                                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"});
    KEYWARD_RETURN_IF_ERROR(c.Exec(sql.c_str(), p));
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, kPolicyChange, audit.at));
    return InsertAudit(c, audit);
  });
}

Result<Plan> PgStore::GetPlan(std::string_view id) {
  return Read<Plan>([&](PgConnection& c) -> Result<Plan> {
    const std::string sql = Sql({"SELECT ", kPlanColumns, " FROM plans WHERE id = $1"});
    return One<Plan>(
        c.Query(sql.c_str(), Params().Bind(id)),
        [](const Row& r) { return store_rules::PlanFromRow(r); }, "no plan " + std::string(id));
  });
}

Result<std::vector<Plan>> PgStore::ListPlans() {
  std::vector<Plan> out;
  KEYWARD_RETURN_IF_ERROR(WithConnection([&](PgConnection& c) -> Status {
    // Byte order, as SQLite sorts: the same list on either engine.
    const std::string sql = Sql({"SELECT ", kPlanColumns, " FROM plans ORDER BY id COLLATE \"C\""});
    auto rows = c.Query(sql.c_str());
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) out.push_back(store_rules::PlanFromRow(rows->row(i)));
    return Status::Ok();
  }));
  return out;
}

Status PgStore::UpdatePlan(const Plan& plan, const AuditEntry& audit) {
  return Transact([&](PgConnection& c) -> Status {
    Params p;
    store_rules::BindPlanUpdate(p, plan);
    p.Bind(plan.id);
    // Every column but created_at, which stays the plan's first.
    auto rows = c.Query(
        "UPDATE plans SET name = $1, monthly_credits = $2, rate_limit_limit = $3, "
        "rate_limit_period = $4, max_active_keys = $5, cost_rules = $6, from_config = $7, "
        "updated_at = $8 WHERE id = $9",
        p);
    if (!rows.ok()) return rows.status();
    if (rows->affected() == 0) return Status::NotFound("no plan " + plan.id);
    KEYWARD_RETURN_IF_ERROR(LogKeyChange(c, kPolicyChange, audit.at));
    return InsertAudit(c, audit);
  });
}

}  // namespace keyward
