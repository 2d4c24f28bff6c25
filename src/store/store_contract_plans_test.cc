// The store contract for plans and what refers to them (core/key_store.h):
// plans, a workspace's plan and overrides, a key's own credits and the
// credits in usage. Part of StoreContractTest: instantiated on every engine
// by store/store_contract_test.cc.
#include <gtest/gtest.h>

#include "store/store_contract_test.h"

namespace keyward {
namespace contract {
namespace {

Plan MakePlan(const std::string& id) {
  Plan p;
  p.id = id;
  p.name = "Plan " + id;
  p.monthly_credits = 10'000;
  p.rate_limit = RateLimit{50, 1};
  p.max_active_keys = 25;
  p.cost_rules = {{"GET /v1/search", 5}, {"POST /v1/*", 2}};
  p.from_config = true;
  p.created_at = 100;
  p.updated_at = 100;
  return p;
}

void ExpectSamePlan(const Plan& got, const Plan& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.monthly_credits, want.monthly_credits);
  EXPECT_EQ(got.rate_limit, want.rate_limit);
  EXPECT_EQ(got.max_active_keys, want.max_active_keys);
  EXPECT_EQ(got.cost_rules, want.cost_rules);
  EXPECT_EQ(got.from_config, want.from_config);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.updated_at, want.updated_at);
}

void ExpectSameWorkspace(const Workspace& got, const Workspace& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.max_active_keys, want.max_active_keys);
  EXPECT_EQ(got.plan_id, want.plan_id);
  EXPECT_EQ(got.monthly_credits, want.monthly_credits);
  EXPECT_EQ(got.rate_limit, want.rate_limit);
  EXPECT_EQ(got.billing_anchor_day, want.billing_anchor_day);
  EXPECT_EQ(got.rotate_after_days, want.rotate_after_days);
  EXPECT_EQ(got.created_at, want.created_at);
}

// The change log's entries after seq.
std::vector<KeyChange> ChangesAfter(KeyStore& store, int64_t seq) {
  auto changes = store.KeyChangesSince(seq, 1000);
  EXPECT_TRUE(changes.ok()) << changes.status().ToString();
  return changes.ok() ? *changes : std::vector<KeyChange>{};
}

// ---- Plans

TEST_P(StoreContractTest, PlansAreStoredListedByIdAndUpdated) {
  const int64_t seen = *store_->LatestKeyChange();
  const Plan pro = MakePlan("plan_pro");
  Plan basic = MakePlan("plan_basic");
  basic.monthly_credits.reset();
  basic.rate_limit.reset();
  basic.max_active_keys.reset();
  basic.cost_rules.clear();
  basic.from_config = false;
  ASSERT_TRUE(store_->InsertPlan(pro, Audit("plan.create")).ok());
  ASSERT_TRUE(store_->InsertPlan(basic, Audit("plan.create")).ok());
  ExpectSamePlan(*store_->GetPlan("plan_pro"), pro);
  ExpectSamePlan(*store_->GetPlan("plan_basic"), basic);
  auto plans = store_->ListPlans();
  ASSERT_TRUE(plans.ok()) << plans.status().ToString();
  ASSERT_EQ(plans->size(), 2u);
  EXPECT_EQ((*plans)[0].id, "plan_basic");
  EXPECT_EQ((*plans)[1].id, "plan_pro");

  Plan changed = pro;
  changed.name = "Pro 2";
  changed.monthly_credits = 20'000;
  changed.cost_rules = {{"GET /v1/x", 7}};
  changed.created_at = 999;  // not written: a plan keeps its first
  changed.updated_at = 300;
  ASSERT_TRUE(store_->UpdatePlan(changed, Audit("plan.update")).ok());
  changed.created_at = pro.created_at;
  ExpectSamePlan(*store_->GetPlan("plan_pro"), changed);

  // Each insert and update told the other nodes, with its audit entry.
  const auto changes = ChangesAfter(*store_, seen);
  ASSERT_EQ(changes.size(), 3u);
  for (const auto& c : changes) {
    EXPECT_TRUE(c.policy());
    EXPECT_EQ(c.hash, kPolicyChange);
  }
  EXPECT_EQ(AuditOf(*store_, "plan.create").size(), 2u);
  EXPECT_EQ(AuditOf(*store_, "plan.update").size(), 1u);
}

TEST_P(StoreContractTest, ADuplicatePlanConflictsAndAMissingOneIsNotFound) {
  ASSERT_TRUE(store_->InsertPlan(MakePlan("plan_a"), Audit("plan.create")).ok());
  const int64_t seen = *store_->LatestKeyChange();
  Plan again = MakePlan("plan_a");
  again.name = "other";
  EXPECT_EQ(store_->InsertPlan(again, Audit("plan.create")).code(), Code::kConflict);
  EXPECT_EQ(store_->GetPlan("plan_a")->name, "Plan plan_a");
  EXPECT_EQ(store_->UpdatePlan(MakePlan("plan_missing"), Audit("plan.update")).code(),
            Code::kNotFound);
  EXPECT_TRUE(store_->GetPlan("plan_missing").status().IsNotFound());
  // Refused: no change logged, no audit entry.
  EXPECT_TRUE(ChangesAfter(*store_, seen).empty());
  EXPECT_EQ(AuditOf(*store_, "plan.create").size(), 1u);
  EXPECT_TRUE(AuditOf(*store_, "plan.update").empty());
}

// ---- Workspaces

TEST_P(StoreContractTest, AWorkspaceKeepsItsPlanOverridesAndAnchor) {
  ASSERT_TRUE(store_->InsertPlan(MakePlan("plan_pro"), Audit()).ok());
  ASSERT_TRUE(store_->InsertPlan(MakePlan("plan_max"), Audit()).ok());
  Workspace ws;
  ws.id = "ws_plan";
  ws.name = "Planned";
  ws.max_active_keys = 9;
  ws.plan_id = "plan_pro";
  ws.monthly_credits = 1'234;
  ws.rate_limit = RateLimit{7, 60};
  ws.billing_anchor_day = 31;
  ws.created_at = 5;
  ASSERT_TRUE(store_->CreateWorkspace(ws, Audit("workspace.create")).ok());
  ExpectSameWorkspace(*store_->GetWorkspace("ws_plan"), ws);
  auto page = store_->ListWorkspaces({}, {"", 100});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  ExpectSameWorkspace(page->items[0], ws);  // newest first
  Workspace plain = page->items[1];
  EXPECT_EQ(plain.plan_id, "");
  EXPECT_FALSE(plain.monthly_credits || plain.rate_limit || plain.billing_anchor_day);

  const int64_t seen = *store_->LatestKeyChange();
  ws.plan_id = "plan_max";
  ws.monthly_credits.reset();
  ws.rate_limit = RateLimit{1, 1};
  ws.billing_anchor_day = 1;
  ASSERT_TRUE(store_->UpdateWorkspace(ws, Audit("workspace.update")).ok());
  ExpectSameWorkspace(*store_->GetWorkspace("ws_plan"), ws);
  ws.plan_id.clear();
  ws.rate_limit.reset();
  ws.billing_anchor_day.reset();
  ASSERT_TRUE(store_->UpdateWorkspace(ws, Audit("workspace.update")).ok());
  ExpectSameWorkspace(*store_->GetWorkspace("ws_plan"), ws);
  // Each update tells the other nodes to drop the workspace's limits.
  const auto changes = ChangesAfter(*store_, seen);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[0].policy());
  EXPECT_TRUE(changes[1].policy());
}

// Verification's own reads (on SQLite through the reader connections) see
// every write that has returned: a new workspace, each update of it, a new
// plan and a changed one.
TEST_P(StoreContractTest, VerificationReadsSeeEveryReturnedWrite) {
  EXPECT_TRUE(store_->GetWorkspaceToVerify("ws_later").status().IsNotFound());
  EXPECT_TRUE(store_->GetPlanToVerify("plan_later").status().IsNotFound());
  Plan plan = MakePlan("plan_later");
  ASSERT_TRUE(store_->InsertPlan(plan, Audit()).ok());
  ExpectSamePlan(*store_->GetPlanToVerify("plan_later"), plan);
  plan.monthly_credits = 42;
  plan.updated_at = 200;
  ASSERT_TRUE(store_->UpdatePlan(plan, Audit()).ok());
  ExpectSamePlan(*store_->GetPlanToVerify("plan_later"), plan);
  Workspace ws;
  ws.id = "ws_later";
  ws.name = "Later";
  ws.created_at = 5;
  ASSERT_TRUE(store_->CreateWorkspace(ws, Audit("workspace.create")).ok());
  ExpectSameWorkspace(*store_->GetWorkspaceToVerify("ws_later"), ws);
  for (int i = 1; i <= 20; ++i) {
    ws.plan_id = i % 2 == 0 ? "plan_later" : "";
    ws.rate_limit = RateLimit{i, 60};
    ASSERT_TRUE(store_->UpdateWorkspace(ws, Audit("workspace.update")).ok());
    ExpectSameWorkspace(*store_->GetWorkspaceToVerify("ws_later"), ws);
  }
}

TEST_P(StoreContractTest, AnUnknownPlanIsRefusedAndNothingStored) {
  Workspace ws;
  ws.id = "ws_noplan";
  ws.name = "x";
  ws.plan_id = "plan_nope";
  ws.created_at = 5;
  const Status created = store_->CreateWorkspace(ws, Audit("workspace.create"));
  EXPECT_EQ(created.code(), Code::kInvalidRequest);
  EXPECT_NE(created.message().find("no plan plan_nope"), std::string::npos) << created.message();
  EXPECT_TRUE(store_->GetWorkspace("ws_noplan").status().IsNotFound());

  const int64_t seen = *store_->LatestKeyChange();
  Workspace existing = *store_->GetWorkspace("ws_contract");
  Workspace changed = existing;
  changed.name = "renamed";
  changed.plan_id = "plan_nope";
  EXPECT_EQ(store_->UpdateWorkspace(changed, Audit("workspace.update")).code(),
            Code::kInvalidRequest);
  ExpectSameWorkspace(*store_->GetWorkspace("ws_contract"), existing);
  EXPECT_TRUE(ChangesAfter(*store_, seen).empty());
  EXPECT_EQ(AuditOf(*store_, "workspace.create").size(), 0u);
  EXPECT_TRUE(AuditOf(*store_, "workspace.update").empty());
}

// ---- Keys

TEST_P(StoreContractTest, AKeysCreditsRoundTripThroughEveryReadAndWrite) {
  ApiKey key = Key("key_cr");
  key.credits =
      KeyCredits{1'000, KeyCredits::Refill{1'000, KeyCredits::Interval::kMonthly, 31}, 50};
  ASSERT_TRUE(store_->InsertKey(key, 10, 100, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_plain"), 10, 100, Audit()).ok());
  EXPECT_EQ(store_->GetKey("key_cr")->credits, key.credits);
  EXPECT_EQ(store_->FindKeyByHash(key.hash)->credits, key.credits);
  EXPECT_FALSE(store_->GetKey("key_plain")->credits.has_value());
  KeyFilter filter;
  filter.workspace_id = "ws_contract";
  auto listed = store_->ListKeys(filter, {"", 10});
  ASSERT_TRUE(listed.ok());
  for (const auto& k : listed->items) {
    EXPECT_EQ(k.credits, k.id == "key_cr" ? key.credits : std::nullopt) << k.id;
  }

  // An update writes them: a daily refill, then none at all.
  ApiKey read = *store_->GetKey("key_cr");
  read.credits = KeyCredits{7, KeyCredits::Refill{20, KeyCredits::Interval::kDaily, 1}, 60};
  bool stale = false;
  ASSERT_TRUE(store_->UpdateKey(read, 10, 100, Audit(), &stale).ok());
  EXPECT_EQ(store_->GetKey("key_cr")->credits, read.credits);
  read = *store_->GetKey("key_cr");
  read.credits = KeyCredits{3, std::nullopt, 70};
  ASSERT_TRUE(store_->UpdateKey(read, 10, 100, Audit(), &stale).ok());
  EXPECT_EQ(store_->FindKeyByHash(key.hash)->credits, read.credits);
  read = *store_->GetKey("key_cr");
  read.credits.reset();
  ASSERT_TRUE(store_->UpdateKey(read, 10, 100, Audit(), &stale).ok());
  EXPECT_FALSE(store_->GetKey("key_cr")->credits.has_value());

  // A replacement carries what the caller gave it.
  read = *store_->GetKey("key_cr");
  ApiKey heir = read;
  heir.id = "key_cr2";
  heir.hash = Sha256("key_cr2");
  heir.rotated_from = "key_cr";
  heir.credits = KeyCredits{500, KeyCredits::Refill{500, KeyCredits::Interval::kMonthly, 15}, 80};
  ASSERT_TRUE(store_->RotateKey(heir, "key_cr", 200, 10, 100, Audit(), &stale).ok());
  EXPECT_EQ(store_->GetKey("key_cr2")->credits, heir.credits);
  EXPECT_FALSE(store_->GetKey("key_cr")->credits.has_value());
}

// ---- Usage

TEST_P(StoreContractTest, UsageCreditsAddUpAndAreSummed) {
  ASSERT_TRUE(store_->InsertKey(Key("key_uc"), 10, 100, Audit()).ok());
  for (int i = 0; i < 3; ++i) {
    UsageBatch b;
    b.rows = {UsageRow{"key_uc", "ws_contract", 7, Code::kValid, 2, 10},
              UsageRow{"key_uc", "ws_contract", 8, Code::kValid, 1, 5},
              UsageRow{"key_uc", "ws_contract", 8, Code::kRateLimited, 4, 0}};
    ASSERT_TRUE(store_->RecordUsage(b).ok());
  }
  auto points = store_->QueryUsage(UsageQuery{"ws_contract", "key_uc", "", 0, 60, 60});
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 2u);
  for (const auto& p : *points) {
    if (p.code == Code::kValid) {
      EXPECT_EQ(p.count, 9);
      EXPECT_EQ(p.credits, 45);
    } else {
      EXPECT_EQ(p.count, 12);
      EXPECT_EQ(p.credits, 0);
    }
  }
}

}  // namespace
}  // namespace contract
}  // namespace keyward
