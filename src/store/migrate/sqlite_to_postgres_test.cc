// `keyward migrate` at the store's level: what a SQLite deployment holds of
// plans and credits reaches PostgreSQL as the engines read it (the whole
// command, end to end, is tests/functional/cluster.test.mjs's).
#include "store/migrate/sqlite_to_postgres.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/sha256.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/postgres_db.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

AuditEntry Audit(const std::string& id) {
  AuditEntry e;
  e.id = id;
  e.at = 1;
  e.actor = "test";
  e.action = "test";
  e.target = "t";
  return e;
}

const CreditBalanceId kBalance{"ws/ws_1/live", 1'000};

CreditLeaseRequest LeaseRead(const std::string& node) {
  CreditLeaseRequest r;
  r.id = kBalance;
  r.limit = 100;
  r.node_id = node;
  r.now = 10;
  return r;
}

// A SQLite deployment with a plan, a workspace on it, a key with credits,
// usage that spent credits past the 80% threshold, and a node's lease.
void Seed(SqliteStore& s) {
  Plan plan;
  plan.id = "plan_pro";
  plan.name = "Pro";
  plan.monthly_credits = 100;
  plan.rate_limit = RateLimit{5, 1};
  plan.cost_rules = {{"GET /v1/search", 5}};
  plan.created_at = 1;
  plan.updated_at = 2;
  ASSERT_TRUE(s.InsertPlan(plan, Audit("evt_1")).ok());
  Workspace ws;
  ws.id = "ws_1";
  ws.name = "Acme";
  ws.plan_id = "plan_pro";
  ws.monthly_credits = 100;
  ws.rate_limit = RateLimit{9, 60};
  ws.billing_anchor_day = 15;
  ws.rotate_after_days = 45;
  ws.created_at = 1;
  ASSERT_TRUE(s.CreateWorkspace(ws, Audit("evt_2")).ok());
  ApiKey key;
  key.id = "key_1";
  key.hash = Sha256("key_1");
  key.short_prefix = "sk_live_abc";
  key.workspace_id = "ws_1";
  key.environment = "live";
  key.name = "k";
  key.created_at = 1;
  key.created_by = "test";
  key.credits = KeyCredits{50, KeyCredits::Refill{50, KeyCredits::Interval::kDaily, 1}, 3};
  ASSERT_TRUE(s.InsertKey(key, 10, 1, Audit("evt_3")).ok());
  CreditLeaseRequest lease = LeaseRead("node_1");
  lease.min = 1;
  lease.want = 90;
  lease.expires_at = 1'000'000;
  ASSERT_EQ(s.LeaseCredits(lease)->granted, 50);
  UsageBatch usage;
  usage.rows = {UsageRow{"key_1", "ws_1", 60, Code::kValid, 17, 85}};
  usage.credits = {CreditSpend{kBalance, 85, 100, "ws_1", "live"}};
  ASSERT_TRUE(s.RecordUsage(usage).ok());
}

TEST(SqliteToPostgresTest, CarriesPlansCreditsAndThresholdsButNotLeases) {
  keyward::testing::PostgresDb db;
  ASSERT_TRUE(db.ok()) << db.error();
  keyward::testing::TempDir dir;
  const std::string path = dir.File("keyward.db");
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_NO_FATAL_FAILURE(Seed(**s));
  }
  auto report = MigrateSqliteToPostgres({path, db.url(), nullptr});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->already_done);
  auto rows = [&](const std::string& table) -> int64_t {
    for (const auto& t : report->tables) {
      if (t.name == table) return t.rows;
    }
    return -1;
  };
  EXPECT_EQ(rows("plans"), 1);
  EXPECT_EQ(rows("credit_balances"), 1);
  EXPECT_EQ(rows("credit_thresholds"), 1);
  EXPECT_EQ(rows("credit_leases"), -1);

  auto pg = PgStore::Open(db.url(), 2);
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  PgStore& p = **pg;
  auto plan = p.GetPlan("plan_pro");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->monthly_credits, 100);
  EXPECT_EQ(plan->cost_rules, (std::vector<CostRule>{{"GET /v1/search", 5}}));
  EXPECT_EQ(plan->updated_at, 2);
  auto ws = p.GetWorkspace("ws_1");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws->plan_id, "plan_pro");
  EXPECT_EQ(ws->monthly_credits, 100);
  EXPECT_EQ(ws->rate_limit, (RateLimit{9, 60}));
  EXPECT_EQ(ws->billing_anchor_day, 15);
  EXPECT_EQ(ws->rotate_after_days, 45);
  EXPECT_EQ(p.GetKey("key_1")->credits,
            (KeyCredits{50, KeyCredits::Refill{50, KeyCredits::Interval::kDaily, 1}, 3}));
  auto usage = p.QueryUsage(UsageQuery{"ws_1", "", "", 0, 120, 120});
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].credits, 85);
  EXPECT_EQ(*p.CreditsSpent(kBalance), 85);
  // The lease stayed behind: all that is not spent is available.
  auto read = p.LeaseCredits(LeaseRead("node_1"));
  EXPECT_EQ(read->held, 0);
  EXPECT_EQ(read->available, 15);
  // The 80% threshold came along: crossing it again records nothing new.
  AuditFilter low;
  low.action = "workspace.credits_low";
  ASSERT_EQ(p.ListAudit(low, {"", 100})->items.size(), 1u);
  UsageBatch more;
  more.credits = {CreditSpend{kBalance, 1, 100, "ws_1", "live"}};
  ASSERT_TRUE(p.RecordUsage(more).ok());
  EXPECT_EQ(p.ListAudit(low, {"", 100})->items.size(), 1u);
}

TEST(SqliteToPostgresTest, ASecondRunFindsTheCopyDone) {
  keyward::testing::PostgresDb db;
  ASSERT_TRUE(db.ok()) << db.error();
  keyward::testing::TempDir dir;
  const std::string path = dir.File("keyward.db");
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_NO_FATAL_FAILURE(Seed(**s));
  }
  ASSERT_TRUE(MigrateSqliteToPostgres({path, db.url(), nullptr}).ok());
  auto again = MigrateSqliteToPostgres({path, db.url(), nullptr});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_done);
}

}  // namespace
}  // namespace keyward
