// The store contract for the credit ledger that several nodes share
// (core/key_store.h): leases, spending and its thresholds, and the usage
// export. Part of StoreContractTest: instantiated on every engine by
// store/store_contract_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "store/store_contract_test.h"

namespace keyward {
namespace contract {
namespace {

const CreditBalanceId kBalance{"ws/ws_contract/live", 1'000};

CreditLeaseRequest Lease(const std::string& node, int64_t limit, int64_t min, int64_t want,
                         Timestamp now = 100, Timestamp expires_at = 10'000,
                         const CreditBalanceId& id = kBalance) {
  CreditLeaseRequest r;
  r.id = id;
  r.limit = limit;
  r.min = min;
  r.want = want;
  r.node_id = node;
  r.now = now;
  r.expires_at = expires_at;
  return r;
}

CreditSpend Spend(int64_t amount, int64_t limit = 0, const CreditBalanceId& id = kBalance) {
  return CreditSpend{id, amount, limit, "ws_contract", "live"};
}

UsageBatch SpendBatch(const std::string& node, std::vector<CreditSpend> credits,
                      Timestamp lease_expires_at = 10'000) {
  UsageBatch b;
  b.credits = std::move(credits);
  b.node_id = node;
  b.lease_expires_at = lease_expires_at;
  return b;
}

// ---- Credits

TEST_P(StoreContractTest, SpendingMovesHeldToSpentAndRenewsTheNodesLeases) {
  const CreditBalanceId other{"key/key_x", 1'000};
  auto a = store_->LeaseCredits(Lease("node_a", 1'000, 1, 100, 100, 2'000));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->granted, 100);
  ASSERT_EQ(store_->LeaseCredits(Lease("node_a", 50, 1, 10, 100, 2'000, other))->granted, 10);

  ASSERT_TRUE(store_->RecordUsage(SpendBatch("node_a", {Spend(30)}, 5'000)).ok());
  EXPECT_EQ(*store_->CreditsSpent(kBalance), 30);
  auto read = store_->LeaseCredits(Lease("node_a", 1'000, 0, 0, 100));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->granted, 0);
  EXPECT_EQ(read->spent, 30);
  EXPECT_EQ(read->held, 70);
  EXPECT_EQ(read->available, 900);

  // Renewed to 5000, both leases: at 3000 another node still counts them.
  auto b = store_->LeaseCredits(Lease("node_b", 1'000, 1, 10, 3'000));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->available, 1'000 - 30 - 70 - 10);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_b", 50, 0, 0, 3'000, 0, other))->available, 40);

  // A batch with nothing but the node renews.
  ASSERT_TRUE(store_->RecordUsage(SpendBatch("node_a", {}, 9'000)).ok());
  EXPECT_EQ(store_->LeaseCredits(Lease("node_b", 1'000, 0, 0, 6'000))->available,
            1'000 - 30 - 70 - 10);

  // Spending more than it holds empties the lease, never below 0.
  ASSERT_TRUE(store_->RecordUsage(SpendBatch("node_a", {Spend(100)}, 9'000)).ok());
  read = store_->LeaseCredits(Lease("node_a", 1'000, 0, 0, 6'000));
  EXPECT_EQ(read->spent, 130);
  EXPECT_EQ(read->held, 0);
  EXPECT_EQ(read->available, 1'000 - 130 - 10);
  // Spending without a node moves nothing out of leases.
  ASSERT_TRUE(store_->RecordUsage(SpendBatch("", {Spend(5, 0, other)})).ok());
  EXPECT_EQ(*store_->CreditsSpent(other), 5);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_a", 50, 0, 0, 100, 0, other))->held, 10);
  EXPECT_EQ(*store_->CreditsSpent({"ws/none", 1}), 0);
}

TEST_P(StoreContractTest, ThresholdsAreRecordedOncePerPeriodWithOneAuditEntryEach) {
  const CreditBalanceId next{kBalance.balance, 2'000'000};
  auto spend = [&](int64_t amount, const CreditBalanceId& id = kBalance) {
    ASSERT_TRUE(store_->RecordUsage(SpendBatch("node_a", {Spend(amount, 100, id)})).ok());
  };
  auto low = [&] { return AuditOf(*store_, "workspace.credits_low"); };
  auto exhausted = [&] { return AuditOf(*store_, "workspace.credits_exhausted"); };
  spend(79);
  EXPECT_TRUE(low().empty());
  spend(1);
  ASSERT_EQ(low().size(), 1u);
  spend(5);
  EXPECT_EQ(low().size(), 1u);
  EXPECT_TRUE(exhausted().empty());
  spend(15);
  EXPECT_EQ(low().size(), 1u);
  ASSERT_EQ(exhausted().size(), 1u);
  spend(10);
  EXPECT_EQ(exhausted().size(), 1u);

  const AuditEntry e = exhausted()[0];
  EXPECT_EQ(e.actor, "keyward");
  EXPECT_EQ(e.target, "ws_contract");
  EXPECT_EQ(e.workspace_id, "ws_contract");
  EXPECT_GT(e.at, 0);
  const auto details = nlohmann::json::parse(e.details_json);
  EXPECT_EQ(details["threshold"], 100);
  EXPECT_EQ(details["limit"], 100);
  EXPECT_EQ(details["spent"], 100);
  EXPECT_EQ(details["balance"], kBalance.balance);
  EXPECT_EQ(details["environment"], "live");
  EXPECT_EQ(nlohmann::json::parse(low()[0].details_json)["spent"], 80);

  // A new period records both again, once each, from one batch.
  spend(150, next);
  EXPECT_EQ(low().size(), 2u);
  EXPECT_EQ(exhausted().size(), 2u);
  // A balance without a limit (a key's) records nothing.
  ASSERT_TRUE(store_->RecordUsage(SpendBatch("node_a", {Spend(1'000, 0, {"key/k", 1})})).ok());
  EXPECT_EQ(low().size(), 2u);
}

TEST_P(StoreContractTest, NodesCrossingAThresholdTogetherRecordItOnce) {
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  KeyStore* nodes[] = {store_.get(), other.get()};
  OnThreads(8, [&](int i) {
    const std::string node = "node_" + std::to_string(i);
    for (int round = 0; round < 5; ++round) {
      ASSERT_TRUE(nodes[i % 2]->RecordUsage(SpendBatch(node, {Spend(5, 100)})).ok());
    }
  });
  EXPECT_EQ(*store_->CreditsSpent(kBalance), 200);
  EXPECT_EQ(AuditOf(*store_, "workspace.credits_low").size(), 1u);
  EXPECT_EQ(AuditOf(*store_, "workspace.credits_exhausted").size(), 1u);
}

TEST_P(StoreContractTest, ALeaseGetsHalfOfWhatIsLeftUpToWhatItWants) {
  auto first = store_->LeaseCredits(Lease("node_a", 100, 1, 80));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->granted, 50);
  EXPECT_EQ(first->held, 50);
  EXPECT_EQ(first->spent, 0);
  EXPECT_EQ(first->available, 50);
  auto second = store_->LeaseCredits(Lease("node_a", 100, 1, 80));
  EXPECT_EQ(second->granted, 25);
  EXPECT_EQ(second->held, 75);
  EXPECT_EQ(second->available, 25);
  auto small = store_->LeaseCredits(Lease("node_b", 100, 1, 5));
  EXPECT_EQ(small->granted, 5);
  EXPECT_EQ(small->held, 5);
  EXPECT_EQ(small->available, 20);
  // min wins over half when it is there: 15 of the 20 left.
  auto at_least = store_->LeaseCredits(Lease("node_b", 100, 15, 30));
  EXPECT_EQ(at_least->granted, 15);
  EXPECT_EQ(at_least->held, 20);
  EXPECT_EQ(at_least->available, 5);
  // min not there: nothing.
  auto refused = store_->LeaseCredits(Lease("node_c", 100, 10, 10));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->granted, 0);
  EXPECT_EQ(refused->held, 0);
  EXPECT_EQ(refused->available, 5);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_c", 100, 0, 0))->held, 0);
}

TEST_P(StoreContractTest, LeasesNeverPassTheLimitAcrossNodes) {
  int64_t granted = 0;
  for (int i = 0; i < 1'000; ++i) {
    auto l = store_->LeaseCredits(Lease(i % 2 ? "node_a" : "node_b", 77, 1, 1'000));
    ASSERT_TRUE(l.ok());
    if (l->granted == 0) break;
    granted += l->granted;
    EXPECT_GE(l->available, 0);
  }
  EXPECT_EQ(granted, 77);
  auto a = store_->LeaseCredits(Lease("node_a", 77, 0, 0));
  auto b = store_->LeaseCredits(Lease("node_b", 77, 0, 0));
  EXPECT_EQ(a->held + b->held, 77);
  EXPECT_EQ(a->available, 0);
}

TEST_P(StoreContractTest, AnExpiredLeaseOfAnotherNodeIsDroppedAndAReadWritesNothing) {
  ASSERT_EQ(store_->LeaseCredits(Lease("node_a", 100, 1, 60, 100, 1'000))->granted, 50);
  // Live at 500: 50 are left, fewer than the 51 node_b needs.
  EXPECT_EQ(store_->LeaseCredits(Lease("node_b", 100, 51, 60, 500))->granted, 0);
  // A read past its expiry counts it out but drops nothing: node_a still
  // holds its 50.
  auto read = store_->LeaseCredits(Lease("node_b", 100, 51, 0, 1'500));
  EXPECT_EQ(read->granted, 0);
  EXPECT_EQ(read->available, 100);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_a", 100, 0, 0, 1'500))->held, 50);
  // A node's own expired lease is its own to renew, never dropped by it.
  auto own = store_->LeaseCredits(Lease("node_a", 100, 1, 10, 1'500, 3'000));
  EXPECT_EQ(own->granted, 10);
  EXPECT_EQ(own->held, 60);
  // Another node's lease past its expiry is dropped.
  auto b = store_->LeaseCredits(Lease("node_b", 100, 51, 60, 3'500));
  EXPECT_EQ(b->granted, 51);
  EXPECT_EQ(b->available, 49);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_a", 100, 0, 0, 3'500))->held, 0);
  EXPECT_EQ(*store_->CreditsSpent(kBalance), 0);
}

TEST_P(StoreContractTest, ReleasedCreditsGoBackToTheBalance) {
  const CreditBalanceId other{"key/key_r", 1'000};
  ASSERT_EQ(store_->LeaseCredits(Lease("node_a", 100, 1, 50))->granted, 50);
  ASSERT_EQ(store_->LeaseCredits(Lease("node_b", 100, 1, 20))->granted, 20);
  ASSERT_EQ(store_->LeaseCredits(Lease("node_a", 10, 1, 5, 100, 10'000, other))->granted, 5);
  ASSERT_TRUE(store_->ReleaseCredits("node_a", {kBalance}).ok());
  EXPECT_EQ(store_->LeaseCredits(Lease("node_a", 100, 0, 0))->held, 0);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_b", 100, 0, 0))->available, 80);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_a", 10, 0, 0, 100, 0, other))->held, 5);
  // Everything the node holds.
  ASSERT_TRUE(store_->ReleaseCredits("node_a", {}).ok());
  EXPECT_EQ(store_->LeaseCredits(Lease("node_a", 10, 0, 0, 100, 0, other))->available, 10);
  EXPECT_EQ(store_->LeaseCredits(Lease("node_b", 100, 0, 0))->held, 20);
  EXPECT_TRUE(store_->ReleaseCredits("node_none", {}).ok());
}

// Several nodes lease from one balance at once until refused: together
// they are granted exactly the limit, never a credit more.
TEST_P(StoreContractTest, NodesLeasingAtOnceAreGrantedExactlyTheLimit) {
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  KeyStore* stores[] = {store_.get(), other.get()};
  constexpr int kNodes = 8;
  std::atomic<int64_t> granted{0};
  OnThreads(kNodes, [&](int i) {
    const std::string node = "node_" + std::to_string(i);
    for (int round = 0;; ++round) {
      auto l = stores[i % 2]->LeaseCredits(Lease(node, 500, 1, 1 + (round + i) % 5));
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      if (l->granted == 0) return;
      EXPECT_GE(l->available, 0);
      granted += l->granted;
    }
  });
  EXPECT_EQ(granted.load(), 500);
  int64_t held = 0;
  for (int i = 0; i < kNodes; ++i) {
    held += store_->LeaseCredits(Lease("node_" + std::to_string(i), 500, 0, 0))->held;
  }
  EXPECT_EQ(held, 500);
}

// ---- The export

TEST_P(StoreContractTest, TheExportSumsPerDayKeyAndCodeInOrderAndPages) {
  constexpr int64_t kDay = 24 * 60;
  ApiKey test_key = Key("key_e2");
  test_key.environment = "test";
  ASSERT_TRUE(store_->InsertKey(Key("key_e1"), 10, 100, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(test_key, 10, 100, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_e3"), 10, 100, Audit()).ok());
  ASSERT_TRUE(store_->RevokeKey("key_e3", 150, "test", "", Audit()).ok());
  Workspace elsewhere;
  elsewhere.id = "ws_other";
  elsewhere.name = "other";
  ASSERT_TRUE(store_->CreateWorkspace(elsewhere, Audit()).ok());
  UsageBatch b;
  b.rows = {
      {"key_e1", "ws_contract", 0 * kDay + 5, Code::kValid, 2, 4},
      {"key_e1", "ws_contract", 0 * kDay + 900, Code::kValid, 3, 6},  // same day: summed
      {"key_e1", "ws_contract", 0 * kDay + 7, Code::kRateLimited, 1, 0},
      {"key_e2", "ws_contract", 0 * kDay + 8, Code::kValid, 5, 5},
      {"key_e3", "ws_contract", 1 * kDay + 1, Code::kValid, 7, 14},  // revoked since
      {"key_gone", "ws_contract", 1 * kDay + 2, Code::kValid, 1, 1},
      {"key_e1", "ws_contract", 2 * kDay + 3, Code::kRevoked, 1, 0},
      {"key_e1", "ws_contract", 3 * kDay + 3, Code::kValid, 9, 9},  // past to_day
      {"key_x", "ws_other", 1 * kDay, Code::kValid, 100, 100},
  };
  ASSERT_TRUE(store_->RecordUsage(b).ok());

  using Row = std::tuple<int64_t, std::string, std::string, std::string, int64_t, int64_t>;
  auto rows = [](const std::vector<UsageExportRow>& v) {
    std::vector<Row> out;
    for (const auto& r : v) {
      out.emplace_back(r.day, r.key_id, r.environment, std::string(CodeName(r.code)), r.count,
                       r.credits);
    }
    return out;
  };
  UsageExportQuery q;
  q.workspace_id = "ws_contract";
  q.from_day = 0;
  q.to_day = 3;
  auto all = store_->ExportUsage(q);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  const std::vector<Row> want = {
      {0, "key_e1", "live", std::string(CodeName(Code::kRateLimited)), 1, 0},
      {0, "key_e1", "live", "valid", 5, 10},
      {0, "key_e2", "test", "valid", 5, 5},
      {1, "key_e3", "live", "valid", 7, 14},
      {1, "key_gone", "", "valid", 1, 1},
      {2, "key_e1", "live", std::string(CodeName(Code::kRevoked)), 1, 0},
  };
  std::vector<Row> sorted = want;
  std::sort(sorted.begin(), sorted.end(), [](const Row& x, const Row& y) {
    return std::tie(std::get<0>(x), std::get<1>(x), std::get<3>(x)) <
           std::tie(std::get<0>(y), std::get<1>(y), std::get<3>(y));
  });
  EXPECT_EQ(rows(*all), sorted);

  // One environment: the keys gone have none.
  q.environment = "live";
  std::vector<Row> live;
  for (const auto& r : sorted) {
    if (std::get<2>(r) == "live") live.push_back(r);
  }
  EXPECT_EQ(rows(*store_->ExportUsage(q)), live);
  q.environment.clear();

  // Days from and to.
  q.from_day = 1;
  q.to_day = 2;
  EXPECT_EQ(store_->ExportUsage(q)->size(), 2u);
  q.from_day = 0;
  q.to_day = 3;

  // Pages of 2, resumed after the last row of each: no gaps, no repeats.
  for (const int limit : {1, 2, 4}) {
    SCOPED_TRACE(limit);
    std::vector<Row> paged;
    UsageExportQuery page = q;
    page.limit = limit;
    for (int n = 0; n < 20; ++n) {
      auto got = store_->ExportUsage(page);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_LE(got->size(), static_cast<size_t>(limit));
      for (const auto& r : rows(*got)) paged.push_back(r);
      if (got->size() < static_cast<size_t>(limit)) break;
      page.after_day = got->back().day;
      page.after_key_id = got->back().key_id;
      page.after_code = std::string(CodeName(got->back().code));
    }
    EXPECT_EQ(paged, sorted);
  }
}

}  // namespace
}  // namespace contract
}  // namespace keyward
