// The store contract (core/key_store.h), stated once and run against every
// engine: today SQLite; the PostgreSQL engine joins by adding its factory
// to kEngines. Each test races what a cluster would race, on one store
// shared by threads standing in for nodes.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <set>
#include <thread>

#include "core/key_store.h"
#include "core/sha256.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

struct Engine {
  const char* name;
  std::function<std::unique_ptr<KeyStore>(const keyward::testing::TempDir&)> open;
};

const Engine kEngines[] = {
    {"sqlite",
     [](const keyward::testing::TempDir& dir) -> std::unique_ptr<KeyStore> {
       auto s = SqliteStore::Open(dir.File("keyward.db"));
       if (!s.ok()) return nullptr;
       return std::move(*s);
     }},
};

class StoreContractTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    store_ = GetParam().open(dir_);
    ASSERT_NE(store_, nullptr);
    Workspace ws;
    ws.id = "ws_contract";
    ws.name = "contract";
    ws.created_at = 1;
    ASSERT_TRUE(store_->CreateWorkspace(ws, Audit()).ok());
  }

  AuditEntry Audit(const std::string& action = "test") {
    AuditEntry e;
    e.id = "evt_" + std::to_string(next_.fetch_add(1));
    e.at = 1;
    e.actor = "test";
    e.action = action;
    e.target = "t";
    e.workspace_id = "ws_contract";
    return e;
  }

  ApiKey Key(const std::string& id) {
    ApiKey k;
    k.id = id;
    k.hash = Sha256(id);
    k.short_prefix = "sk_live_abc";
    k.workspace_id = "ws_contract";
    k.environment = "live";
    k.name = "n";
    k.created_at = 10;
    k.created_by = "test";
    return k;
  }

  // Runs fn(i) on n threads at once.
  static void OnThreads(int n, const std::function<void(int)>& fn) {
    std::latch go(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        go.arrive_and_wait();
        fn(i);
      });
    }
    for (auto& t : threads) t.join();
  }

  keyward::testing::TempDir dir_;
  std::unique_ptr<KeyStore> store_;
  std::atomic<int> next_{0};
};

TEST_P(StoreContractTest, AnswersPing) { EXPECT_TRUE(store_->Ping().ok()); }

TEST_P(StoreContractTest, TheKeyLimitHoldsUnderConcurrentInserts) {
  std::atomic<int> inserted{0}, refused{0};
  OnThreads(30, [&](int i) {
    const Status st = store_->InsertKey(Key("key_" + std::to_string(i)), 5, 100, Audit());
    if (st.ok()) ++inserted;
    if (st.code() == Code::kKeyLimitReached) ++refused;
  });
  EXPECT_EQ(inserted.load(), 5);
  EXPECT_EQ(refused.load(), 25);
  EXPECT_EQ(*store_->CountActiveKeys("ws_contract", 100), 5);
}

TEST_P(StoreContractTest, AKeyHasOneReplacement) {
  ASSERT_TRUE(store_->InsertKey(Key("key_old"), 100, 100, Audit()).ok());
  std::atomic<int> won{0}, conflicts{0};
  OnThreads(8, [&](int i) {
    ApiKey heir = Key("key_heir" + std::to_string(i));
    heir.rotated_from = "key_old";
    bool stale = false;
    const Status st =
        store_->RotateKey(heir, "key_old", 200, 100, 100, Audit("key.rotate"), &stale);
    EXPECT_FALSE(stale);
    if (st.ok()) ++won;
    if (st.code() == Code::kConflict) ++conflicts;
  });
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(*store_->GetKey("key_old")->expires_at, 200);
}

TEST_P(StoreContractTest, AuditEntriesCommitWithTheirChangeAndOnlyThen) {
  ASSERT_TRUE(store_->InsertKey(Key("key_a"), 1, 100, Audit("key.create")).ok());
  const Status refused = store_->InsertKey(Key("key_b"), 1, 100, Audit("key.create"));
  EXPECT_EQ(refused.code(), Code::kKeyLimitReached);
  AuditFilter filter;
  filter.workspace_id = "ws_contract";
  auto audit = store_->ListAudit(filter, {"", 100});
  ASSERT_TRUE(audit.ok());
  int creates = 0;
  for (const auto& e : audit->items) creates += e.action == "key.create";
  EXPECT_EQ(creates, 1) << "a refused insert left its audit entry";
  EXPECT_TRUE(store_->GetKey("key_b").status().IsNotFound());
}

TEST_P(StoreContractTest, AnUpdateFromAStaleVersionWritesNothing) {
  ASSERT_TRUE(store_->InsertKey(Key("key_v"), 10, 100, Audit()).ok());
  ApiKey first = *store_->GetKey("key_v");
  ApiKey second = first;
  first.name = "first";
  second.name = "second";
  bool stale = false;
  ASSERT_TRUE(store_->UpdateKey(first, 10, 100, Audit(), &stale).ok());
  EXPECT_FALSE(stale);
  EXPECT_EQ(store_->UpdateKey(second, 10, 100, Audit(), &stale).code(), Code::kConflict);
  EXPECT_TRUE(stale);
  EXPECT_EQ(store_->GetKey("key_v")->name, "first");
  EXPECT_GT(store_->GetKey("key_v")->version, first.version);
}

TEST_P(StoreContractTest, ARotationFromAStaleReadWritesNothing) {
  ASSERT_TRUE(store_->InsertKey(Key("key_r"), 10, 100, Audit()).ok());
  ApiKey read = *store_->GetKey("key_r");
  // Meanwhile the operator disables it.
  ApiKey disabled = read;
  disabled.disabled = true;
  bool stale = false;
  ASSERT_TRUE(store_->UpdateKey(disabled, 10, 100, Audit(), &stale).ok());
  // A replacement made from the earlier read would be enabled.
  ApiKey heir = read;
  heir.id = "key_r2";
  heir.hash = Sha256("key_r2");
  heir.rotated_from = "key_r";
  EXPECT_EQ(store_->RotateKey(heir, "key_r", 200, 10, 100, Audit("key.rotate"), &stale).code(),
            Code::kConflict);
  EXPECT_TRUE(stale);
  EXPECT_TRUE(store_->GetKey("key_r2").status().IsNotFound());
  EXPECT_FALSE(store_->GetKey("key_r")->expires_at.has_value());
}

TEST_P(StoreContractTest, PagesHaveNoGapsOrRepeatsWhileKeysArrive) {
  for (int i = 0; i < 57; ++i) {
    ASSERT_TRUE(store_->InsertKey(Key("key_p" + std::to_string(i)), 1000, 100, Audit()).ok());
  }
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0, arriving = 0;
  KeyFilter filter;
  filter.workspace_id = "ws_contract";
  do {
    auto page = store_->ListKeys(filter, {cursor, 10});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& k : page->items) {
      EXPECT_TRUE(seen.insert(k.id).second) << k.id << " repeated";
    }
    cursor = page->next_cursor;
    // New keys land in front of the pages already read, never in a gap.
    ASSERT_TRUE(
        store_->InsertKey(Key("key_new" + std::to_string(arriving++)), 1000, 100, Audit()).ok());
    ++pages;
  } while (!cursor.empty());
  for (int i = 0; i < 57; ++i) EXPECT_TRUE(seen.count("key_p" + std::to_string(i))) << i;
  EXPECT_EQ(pages, 6);
  EXPECT_EQ(store_->ListKeys(filter, {"key_nonexistent", 10}).status().code(),
            Code::kInvalidRequest);
}

TEST_P(StoreContractTest, UsageFromManyNodesAddsUp) {
  ASSERT_TRUE(store_->InsertKey(Key("key_u"), 10, 100, Audit()).ok());
  OnThreads(4, [&](int) {
    for (int round = 0; round < 25; ++round) {
      UsageBatch batch;
      batch.rows.push_back({"key_u", "ws_contract", 7, Code::kValid, 3});
      batch.rows.push_back({"key_u", "ws_contract", 7, Code::kRevoked, 1});
      ASSERT_TRUE(store_->RecordUsage(batch).ok());
    }
  });
  auto points = store_->QueryUsage(UsageQuery{"ws_contract", "key_u", "", 0, 60, 60});
  ASSERT_TRUE(points.ok());
  int64_t valid = 0, revoked = 0;
  for (const auto& p : *points) (p.code == Code::kValid ? valid : revoked) += p.count;
  EXPECT_EQ(valid, 4 * 25 * 3);
  EXPECT_EQ(revoked, 4 * 25);
}

// The rule that keeps a revoked key out of every node's cache: a reader
// that has seen sequence N never later misses a change below N. A reader
// follows the log while writers append; what it saw must be every change.
TEST_P(StoreContractTest, TheChangeLogIsNeverFilledInBehindAReader) {
  const int64_t start = *store_->LatestKeyChange();
  std::atomic<bool> done{false};
  std::set<int64_t> seen;
  int64_t last = start;
  std::thread reader([&] {
    while (true) {
      const bool finished = done.load();
      auto changes = store_->KeyChangesSince(last, 1000);
      ASSERT_TRUE(changes.ok());
      for (const auto& c : *changes) {
        ASSERT_GT(c.seq, last) << "a change below what was seen appeared";
        seen.insert(c.seq);
        last = c.seq;
      }
      if (finished && changes->empty()) return;
    }
  });
  OnThreads(4, [&](int t) {
    for (int i = 0; i < 40; ++i) {
      const std::string id = "key_c" + std::to_string(t) + "_" + std::to_string(i);
      ASSERT_TRUE(store_->InsertKey(Key(id), 100000, 100, Audit()).ok());
      ASSERT_TRUE(store_->RevokeKey(id, 150, "test", "", Audit()).ok());
    }
  });
  done.store(true);
  reader.join();
  auto all = store_->KeyChangesSince(start, 100000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u * 40 * 2);
  for (const auto& c : *all) EXPECT_TRUE(seen.count(c.seq)) << "the reader missed change " << c.seq;
}

TEST_P(StoreContractTest, EngineErrorsMapToCodes) {
  ASSERT_TRUE(store_->InsertKey(Key("key_dup"), 10, 100, Audit()).ok());
  ApiKey same_hash = Key("key_other");
  same_hash.hash = Sha256("key_dup");
  EXPECT_EQ(store_->InsertKey(same_hash, 10, 100, Audit()).code(), Code::kConflict);
  EXPECT_TRUE(store_->GetKey("key_missing").status().IsNotFound());
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreContractTest, ::testing::ValuesIn(kEngines),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace keyward
