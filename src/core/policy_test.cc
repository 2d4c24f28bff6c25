#include "core/policy.h"

#include <gtest/gtest.h>

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
