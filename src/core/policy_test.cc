#include "core/policy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/random.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

Plan SearchPlan() {
  Plan p;
  p.id = "plan_pro";
  p.name = "Pro";
  p.monthly_credits = 10000;
  p.rate_limit = RateLimit{100, 60};
  p.max_active_keys = 5;
  p.cost_rules = {{"GET /v1/amazon/search", 5}, {"GET /v1/amazon/**", 2}, {"POST /v1/bulk", 50}};
  return p;
}

TEST(PolicyTest, TheWorkspacesOwnValueWinsThenItsPlans) {
  Workspace ws;
  ws.id = "ws_1";
  ws.plan_id = "plan_pro";
  const Plan plan = SearchPlan();
  auto p = CompilePolicy(ws, &plan);
  EXPECT_EQ(p->monthly_credits, 10000);
  EXPECT_EQ(p->rate_limit, (RateLimit{100, 60}));
  EXPECT_EQ(p->max_active_keys, 5);
  ws.monthly_credits = 250;
  ws.rate_limit = RateLimit{5, 1};
  ws.max_active_keys = 2;
  p = CompilePolicy(ws, &plan);
  EXPECT_EQ(p->monthly_credits, 250);
  EXPECT_EQ(p->rate_limit, (RateLimit{5, 1}));
  EXPECT_EQ(p->max_active_keys, 2);
  // No plan: only its own values; the deployment's come after (not here).
  p = CompilePolicy(Workspace{}, nullptr);
  EXPECT_FALSE(p->monthly_credits);
  EXPECT_FALSE(p->rate_limit);
  EXPECT_EQ(p->CostOf("GET", "/v1/amazon/search"), 1);
}

TEST(PolicyTest, ARequestCostsTheHighestMatchingRuleElseOne) {
  const Plan plan = SearchPlan();
  auto p = CompilePolicy(Workspace{}, &plan);
  EXPECT_EQ(p->CostOf("GET", "/v1/amazon/search"), 5);
  EXPECT_EQ(p->CostOf("GET", "/v1/amazon/search?q=lamp"), 5);
  EXPECT_EQ(p->CostOf("GET", "/v1/amazon/product/42"), 2);
  EXPECT_EQ(p->CostOf("POST", "/v1/bulk"), 50);
  EXPECT_EQ(p->CostOf("GET", "/v1/bulk"), 1);
  EXPECT_EQ(p->CostOf("GET", "/v1/other"), 1);
}

TEST(PolicyTest, AnOddlySpelledPathNeverCostsLess) {
  const Plan plan = SearchPlan();
  auto p = CompilePolicy(Workspace{}, &plan);
  // Not canonical: it might reach a costly endpoint, so it costs the most.
  for (const char* path : {"/v1/amazon//search", "/v1/amazon/./search", "/v1/x/../amazon/search",
                           "/v1/amazon/%73earch", "v1/amazon/search", ""}) {
    EXPECT_EQ(p->CostOf("GET", path), 50) << path;
  }
}

TEST(PolicyTest, RulesThatDoNotParseAreDropped) {
  Plan plan = SearchPlan();
  plan.cost_rules = {{"not a pattern [", 7}, {"GET /v1/ok", 3}};
  auto p = CompilePolicy(Workspace{}, &plan);
  ASSERT_EQ(p->cost_rules.size(), 1u);
  EXPECT_EQ(p->CostOf("GET", "/v1/ok"), 3);
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

// PolicyCache over a real store, as serve builds it.
class PolicyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::Open(dir_.File("keyward.db"));
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
    Workspace ws;
    ws.id = "ws_borrowed0000000000001";
    ws.name = "borrowed";
    ws.rate_limit = RateLimit{10, 60};
    ASSERT_TRUE(store_->CreateWorkspace(ws, Audit("workspace.create", ws.id)).ok());
  }
  static AuditEntry Audit(std::string action, std::string target) {
    AuditEntry a;
    a.id = NewId("evt");
    a.at = 1'700'000'000'000;
    a.actor = "cli";
    a.action = std::move(action);
    a.target = std::move(target);
    return a;
  }
  void SetRateLimit(int64_t limit) {
    auto ws = store_->GetWorkspace("ws_borrowed0000000000001");
    ASSERT_TRUE(ws.ok());
    ws->rate_limit = RateLimit{limit, 60};
    ASSERT_TRUE(store_->UpdateWorkspace(*ws, Audit("workspace.update", ws->id)).ok());
  }
  keyward::testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

// A borrowed policy is the shared cache's, and a change the cache is told
// of (Clear) is what the very next borrow on every thread answers.
TEST_F(PolicyCacheTest, TheNextBorrowAfterAChangeSeesIt) {
  PolicyCache cache(store_.get(), 100);
  auto p = cache.Borrow("ws_borrowed0000000000001");
  ASSERT_TRUE(p.ok());
  ASSERT_NE(*p, nullptr);
  EXPECT_EQ((*p)->rate_limit->limit, 10);
  SetRateLimit(20);
  // Not told yet: the cached policy stands (as the shared cache's would).
  EXPECT_EQ((*cache.Borrow("ws_borrowed0000000000001"))->rate_limit->limit, 10);
  cache.Clear();
  EXPECT_EQ((*cache.Borrow("ws_borrowed0000000000001"))->rate_limit->limit, 20);
  // Another thread that borrowed before the change sees it too.
  SetRateLimit(30);
  int64_t seen_before = 0, seen_after = 0;
  std::atomic<int> step{0};
  std::thread other([&] {
    seen_before = (*cache.Borrow("ws_borrowed0000000000001"))->rate_limit->limit;
    step = 1;
    while (step != 2) std::this_thread::yield();
    seen_after = (*cache.Borrow("ws_borrowed0000000000001"))->rate_limit->limit;
  });
  while (step != 1) std::this_thread::yield();
  cache.Clear();
  step = 2;
  other.join();
  EXPECT_EQ(seen_before, 20);
  EXPECT_EQ(seen_after, 30);
  // No such workspace: none, and not remembered as none.
  auto missing = cache.Borrow("ws_missing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, nullptr);
}

// A thread that borrows all along, while the workspace changes and the
// cache is told each time: once a change and its Clear have returned, the
// thread's next borrow answers the change, never a policy it kept from
// during the Clear (a shard not yet cleared answers the old one then).
TEST_F(PolicyCacheTest, NoThreadKeepsAPolicyFromDuringAClear) {
  PolicyCache cache(store_.get(), 100);
  constexpr int kRounds = 150;
  std::atomic<int> done{0};  // the last round whose change and Clear returned
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const int round = done.load();
      auto p = cache.Borrow("ws_borrowed0000000000001");
      if (round > 0 && p.ok() && *p != nullptr && (*p)->rate_limit->limit < 1000 + round) {
        stale.fetch_add(1);
      }
    }
  });
  for (int r = 1; r <= kRounds; ++r) {
    SetRateLimit(1000 + r);
    cache.Clear();
    done.store(r);
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(stale.load(), 0) << "a borrow after a Clear returned answered a policy from before it";
}

// Two caches (two stores) never answer with each other's policies, and a
// borrowed policy outlives a Clear until the thread borrows again.
TEST_F(PolicyCacheTest, CachesKeepTheirOwnAndABorrowOutlivesAClear) {
  keyward::testing::TempDir other_dir;
  auto other_store = std::move(SqliteStore::Open(other_dir.File("keyward.db"))).value();
  Workspace ws;
  ws.id = "ws_borrowed0000000000001";
  ws.name = "same id, other store";
  ws.rate_limit = RateLimit{99, 60};
  ASSERT_TRUE(other_store->CreateWorkspace(ws, Audit("workspace.create", ws.id)).ok());
  PolicyCache a(store_.get(), 100);
  PolicyCache b(other_store.get(), 100);
  EXPECT_EQ((*a.Borrow(ws.id))->rate_limit->limit, 10);
  EXPECT_EQ((*b.Borrow(ws.id))->rate_limit->limit, 99);
  EXPECT_EQ((*a.Borrow(ws.id))->rate_limit->limit, 10);
  // Valid until the thread's next borrow, though the cache drops it.
  const WorkspacePolicy* from_a = *a.Borrow(ws.id);
  a.Clear();
  EXPECT_EQ(from_a->rate_limit->limit, 10);  // ASan and TSan see a use after free otherwise
}

}  // namespace
}  // namespace keyward
