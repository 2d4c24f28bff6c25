// The credit ledger against a real SQLite store: exact on one node under
// racing threads, never past the limit on two, durable with the flush, and
// what a crash can give back.
#include "core/credits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

class CreditLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::Open(dir_.File("keyward.db"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  std::unique_ptr<CreditLedger> Ledger(std::string node) {
    CreditLedgerOptions o;
    o.store = store_.get();
    o.clock = &clock_;
    o.node_id = std::move(node);
    return std::make_unique<CreditLedger>(o);
  }

  // Writes what the ledger spent, as the usage flush does.
  void Flush(CreditLedger& ledger) {
    UsageBatch batch;
    ledger.DrainInto(&batch);
    const Status s = store_->RecordUsage(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ledger.FlushDone(batch, true, clock_.Monotonic());
  }

  // balance: a literal, which outlives the charge.
  static CreditCharge Charge(const char* balance, int64_t limit) {
    CreditCharge c;
    c.balance = balance;
    c.period_start = 1000;
    c.limit = limit;
    c.reset = 2000;
    return c;
  }

  int64_t Spent(const std::string& balance) {
    auto s = store_->CreditsSpent({balance, 1000});
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : -1;
  }

  keyward::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(CreditLedgerTest, SixtyFourThreadsSpendExactlyTheLimitOnOneNode) {
  auto ledger = Ledger("node_a");
  const CreditCharge charge = Charge("ws/ws_1/live", 1000);
  std::atomic<int64_t> valid{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&] {
      CreditState state;
      for (;;) {
        const SpendOutcome o = ledger->Spend({&charge, 1}, 1, {&state, 1});
        ASSERT_NE(o, SpendOutcome::kUnavailable);
        if (o == SpendOutcome::kExhausted) {
          refused.fetch_add(1);
          EXPECT_EQ(state.remaining, 0);
          return;
        }
        valid.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(valid.load(), 1000);
  EXPECT_EQ(refused.load(), 64);
  Flush(*ledger);
  EXPECT_EQ(Spent("ws/ws_1/live"), 1000);
}

TEST_F(CreditLedgerTest, ASpendTakesFromEveryBalanceOrFromNone) {
  auto ledger = Ledger("node_a");
  const CreditCharge charges[2] = {Charge("key/key_1", 10), Charge("ws/ws_1/live", 100)};
  CreditState states[2];
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(ledger->Spend(charges, 3, states), SpendOutcome::kSpent);
  }
  EXPECT_EQ(states[0].remaining, 1);
  EXPECT_EQ(states[1].remaining, 91);
  // The key has 1 left: a request costing 3 is refused and spends nothing anywhere.
  EXPECT_EQ(ledger->Spend(charges, 3, states), SpendOutcome::kExhausted);
  EXPECT_EQ(ledger->Spend(charges, 1, states), SpendOutcome::kSpent);
  EXPECT_EQ(states[0].remaining, 0);
  EXPECT_EQ(states[1].remaining, 90);
  // A cost of 0 reads and spends nothing, even from an empty balance.
  EXPECT_EQ(ledger->Spend(charges, 0, states), SpendOutcome::kSpent);
  EXPECT_EQ(states[0].remaining, 0);
  Flush(*ledger);
  EXPECT_EQ(Spent("key/key_1"), 10);
  EXPECT_EQ(Spent("ws/ws_1/live"), 10);
}

TEST_F(CreditLedgerTest, AnEmptyKeyBalanceStillShowsItsWorkspacesTrueState) {
  auto ledger = Ledger("node_a");
  const CreditCharge charges[2] = {Charge("key/key_1", 0), Charge("ws/ws_1/live", 100)};
  CreditState states[2];
  EXPECT_EQ(ledger->Spend(charges, 1, states), SpendOutcome::kExhausted);
  EXPECT_EQ(states[0].remaining, 0);
  EXPECT_EQ(states[1].remaining, 100);  // read, not taken
  Flush(*ledger);
  EXPECT_EQ(Spent("ws/ws_1/live"), 0);
}

TEST_F(CreditLedgerTest, ALoweredAllowanceHoldsAtOnce) {
  auto ledger = Ledger("node_a");
  CreditCharge charge = Charge("ws/ws_1/live", 1000);
  CreditState state;
  ASSERT_EQ(ledger->Spend({&charge, 1}, 1, {&state, 1}), SpendOutcome::kSpent);  // leases a block
  charge.limit = 5;                                                              // the plan changed
  int64_t spent = 1;
  while (ledger->Spend({&charge, 1}, 1, {&state, 1}) == SpendOutcome::kSpent) ++spent;
  EXPECT_EQ(spent, 5);
  EXPECT_EQ(state.remaining, 0);
}

TEST_F(CreditLedgerTest, TwoNodesTogetherSpendTheLimitAndNoMore) {
  auto a = Ledger("node_a");
  auto b = Ledger("node_b");
  const CreditCharge charge = Charge("ws/ws_1/live", 5000);
  std::atomic<int64_t> valid{0};
  std::vector<std::thread> threads;
  for (CreditLedger* ledger : {a.get(), b.get(), a.get(), b.get()}) {
    threads.emplace_back([&, ledger] {
      CreditState state;
      int flushes = 0;
      while (ledger->Spend({&charge, 1}, 1, {&state, 1}) == SpendOutcome::kSpent) {
        valid.fetch_add(1);
        if (++flushes % 500 == 0) Flush(*ledger);
      }
    });
  }
  for (auto& t : threads) t.join();
  // Each node spends what it leased; the last credits may sit with the
  // other node, so spend again until neither has any.
  CreditState state;
  for (CreditLedger* ledger : {a.get(), b.get()}) {
    while (ledger->Spend({&charge, 1}, 1, {&state, 1}) == SpendOutcome::kSpent) valid++;
  }
  EXPECT_EQ(valid.load(), 5000);
  Flush(*a);
  Flush(*b);
  EXPECT_EQ(Spent("ws/ws_1/live"), 5000);
}

TEST_F(CreditLedgerTest, IdleLeasesGoBackToOtherNodes) {
  auto a = Ledger("node_a");
  auto b = Ledger("node_b");
  const CreditCharge charge = Charge("ws/ws_1/live", 40);
  CreditState state;
  ASSERT_EQ(a->Spend({&charge, 1}, 1, {&state, 1}), SpendOutcome::kSpent);  // a leases a block
  // b can lease only what a does not hold.
  int64_t b_spent = 0;
  while (b->Spend({&charge, 1}, 1, {&state, 1}) == SpendOutcome::kSpent) ++b_spent;
  EXPECT_LT(b_spent, 39);
  Flush(*a);
  clock_.Advance(CreditLedger::kIdleMillis + 1);
  a->ReleaseIdle();
  while (b->Spend({&charge, 1}, 1, {&state, 1}) == SpendOutcome::kSpent) ++b_spent;
  EXPECT_EQ(b_spent, 39);
}

TEST_F(CreditLedgerTest, ACrashGivesBackOnlyWhatWasNotFlushed) {
  const CreditCharge charge = Charge("ws/ws_1/live", 1000);
  CreditState state;
  {
    auto a = Ledger("node_a");
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(a->Spend({&charge, 1}, 1, {&state, 1}), SpendOutcome::kSpent);
    Flush(*a);
    for (int i = 0; i < 30; ++i)
      ASSERT_EQ(a->Spend({&charge, 1}, 1, {&state, 1}), SpendOutcome::kSpent);
    // Killed: no flush, no release. Its lease lapses after the lease time.
  }
  EXPECT_EQ(Spent("ws/ws_1/live"), 100);
  clock_.Advance(CreditLedgerOptions{}.lease_ttl_millis + 1);
  auto b = Ledger("node_b");
  int64_t spent = 0;
  while (b->Spend({&charge, 1}, 1, {&state, 1}) == SpendOutcome::kSpent) ++spent;
  // The 30 spent since the last flush are given back; nothing else is.
  EXPECT_EQ(spent, 900);
}

TEST_F(CreditLedgerTest, AFailedFlushKeepsTheSpendsForTheNextOne) {
  auto a = Ledger("node_a");
  const CreditCharge charge = Charge("ws/ws_1/live", 100);
  CreditState state;
  for (int i = 0; i < 7; ++i) a->Spend({&charge, 1}, 1, {&state, 1});
  UsageBatch batch;
  a->DrainInto(&batch);
  ASSERT_EQ(batch.credits.size(), 1u);
  EXPECT_EQ(batch.credits[0].amount, 7);
  EXPECT_EQ(batch.credits[0].workspace_id, "");  // the charge named no workspace
  a->FlushDone(batch, false, clock_.Monotonic());
  Flush(*a);
  EXPECT_EQ(Spent("ws/ws_1/live"), 7);
}

}  // namespace
}  // namespace keyward
