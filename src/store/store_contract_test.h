// The fixture of the store contract suite (store/store_contract_test.cc and
// the files beside it): one store per test on each engine, SQLite and
// PostgreSQL (a database of its own on the server ctest's postgres fixture
// starts), with a workspace "ws_contract" made. Not thread-safe: one per
// test; its helpers may be called from the test's threads.
#ifndef KEYWARD_STORE_STORE_CONTRACT_TEST_H_
#define KEYWARD_STORE_STORE_CONTRACT_TEST_H_

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/key_store.h"
#include "core/sha256.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/postgres_db.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace contract {

// Where a test's store lives: a directory for SQLite, a database for
// PostgreSQL. Opening twice gives two stores on the same data, as two
// nodes (or two processes) would have.
struct Place {
  keyward::testing::TempDir dir;
  std::unique_ptr<keyward::testing::PostgresDb> pg;
};

struct Engine {
  const char* name;
  std::function<Result<std::unique_ptr<KeyStore>>(Place&)> open;
};

inline const Engine kEngines[] = {
    {"sqlite",
     [](Place& place) -> Result<std::unique_ptr<KeyStore>> {
       auto s = SqliteStore::Open(place.dir.File("keyward.db"));
       if (!s.ok()) return s.status();
       return std::unique_ptr<KeyStore>(std::move(*s));
     }},
    {"postgres",
     [](Place& place) -> Result<std::unique_ptr<KeyStore>> {
       if (!place.pg) place.pg = std::make_unique<keyward::testing::PostgresDb>();
       if (!place.pg->ok()) return Status::Unavailable(place.pg->error());
       auto s = PgStore::Open(place.pg->url(), 8);
       if (!s.ok()) return s.status();
       return std::unique_ptr<KeyStore>(std::move(*s));
     }},
};

inline void PrintTo(const Engine& e, std::ostream* os) { *os << e.name; }

class StoreContractTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    auto store = GetParam().open(place_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
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

  // A second store on the same data: another node.
  std::unique_ptr<KeyStore> OpenAgain() {
    auto store = GetParam().open(place_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  Place place_;
  std::unique_ptr<KeyStore> store_;
  std::atomic<int> next_{0};
};

// The audit entries with action, newest first.
inline std::vector<AuditEntry> AuditOf(KeyStore& store, const std::string& action) {
  AuditFilter f;
  f.action = action;
  auto page = store.ListAudit(f, {"", 1000});
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? page->items : std::vector<AuditEntry>{};
}

}  // namespace contract
}  // namespace keyward

#endif  // KEYWARD_STORE_STORE_CONTRACT_TEST_H_
