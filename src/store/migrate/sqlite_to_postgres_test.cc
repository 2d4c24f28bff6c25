// `keyward migrate` at the store's level: what a SQLite deployment holds of
// plans, credits and webhooks reaches PostgreSQL as the engines read it
// (the whole command, end to end, is tests/functional/cluster.test.mjs's).
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

// A workspace's webhook endpoint with one delivered event.
void SeedWebhooks(SqliteStore& s, ClaimedDelivery* delivered) {
  WebhookEndpoint ep;
  ep.id = "we_1";
  ep.workspace_id = "ws_1";
  ep.url = "https://hooks.example.com/1";
  ep.events = {"api_key.updated"};
  ep.secret = "whsec_1";
  ep.created_at = 2;
  ep.updated_at = 2;
  ASSERT_TRUE(s.InsertWebhookEndpoint(ep, 10, Audit("evt_10")).ok());
  AuditEntry update = Audit("evt_11");
  update.action = "key.update";
  update.target = "key_1";
  update.workspace_id = "ws_1";
  update.at = 5;
  ASSERT_TRUE(s.AppendAudit(update).ok());
  auto claimed = s.ClaimWebhookDeliveries(10, 1000, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 1u);
  *delivered = (*claimed)[0];
  DeliveryOutcome o;
  o.delivery_id = delivered->delivery.id;
  o.claim_id = delivered->claim_id;
  o.attempted_at = 11;
  o.status = DeliveryStatus::kDelivered;
  o.next_attempt_at = 11;
  o.response_status = 204;
  o.latency_ms = 7;
  ASSERT_TRUE(s.FinishWebhookDelivery(o).ok());
}

TEST(SqliteToPostgresTest, CarriesWebhookEndpointsEventsAndDeliveries) {
  keyward::testing::PostgresDb db;
  ASSERT_TRUE(db.ok()) << db.error();
  keyward::testing::TempDir dir;
  const std::string path = dir.File("keyward.db");
  ClaimedDelivery delivered;
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_NO_FATAL_FAILURE(Seed(**s));
    ASSERT_NO_FATAL_FAILURE(SeedWebhooks(**s, &delivered));
  }
  auto report = MigrateSqliteToPostgres({path, db.url(), nullptr});
  ASSERT_TRUE(report.ok()) << report.status().ToString();

  auto pg = PgStore::Open(db.url(), 2);
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  PgStore& p = **pg;
  auto ep = p.GetWebhookEndpoint("we_1");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->workspace_id, "ws_1");
  EXPECT_EQ(ep->events, std::vector<std::string>{"api_key.updated"});
  EXPECT_EQ(ep->secret, "whsec_1");
  EXPECT_TRUE(ep->enabled);
  // The delivery still names its event (event_seq came along with seq).
  auto d = p.GetWebhookDelivery(delivered.delivery.id);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->endpoint_id, "we_1");
  EXPECT_EQ(d->event_id, delivered.delivery.event_id);
  EXPECT_EQ(d->event_type, "api_key.updated");
  EXPECT_EQ(d->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d->attempts, 1);
  EXPECT_EQ(d->response_status, 204);
  // Fanned out already: not sent again.
  auto none = p.ClaimWebhookDeliveries(100, 1000, 10);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  // New events number on after the copied ones.
  AuditEntry update = Audit("evt_12");
  update.action = "key.update";
  update.target = "key_1";
  update.workspace_id = "ws_1";
  update.at = 20;
  ASSERT_TRUE(p.AppendAudit(update).ok());
  auto next = p.ClaimWebhookDeliveries(100, 1000, 10);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_NE((*next)[0].delivery.event_id, delivered.delivery.event_id);
  EXPECT_EQ((*next)[0].url, "https://hooks.example.com/1");
  EXPECT_EQ(p.ListWebhookDeliveries("we_1", {"", 10})->items.size(), 2u);
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
    ClaimedDelivery delivered;
    ASSERT_NO_FATAL_FAILURE(SeedWebhooks(**s, &delivered));
  }
  ASSERT_TRUE(MigrateSqliteToPostgres({path, db.url(), nullptr}).ok());
  auto again = MigrateSqliteToPostgres({path, db.url(), nullptr});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_done);
}

}  // namespace
}  // namespace keyward
