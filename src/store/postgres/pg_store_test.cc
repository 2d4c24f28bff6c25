// What only the PostgreSQL engine has to show (the shared contract is in
// store/store_contract_test.cc): nodes starting together migrate once, a
// password never reaches a message, and connections that the server drops
// are remade without a restart.
#include "store/postgres/pg_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <thread>

#include "testing/postgres_db.h"

namespace keyward {
namespace {

AuditEntry Audit(const std::string& id) {
  AuditEntry e;
  e.id = id;
  e.at = 1;
  e.actor = "test";
  e.action = "workspace.create";
  e.target = "t";
  return e;
}

Workspace MakeWorkspace(const std::string& id) {
  Workspace ws;
  ws.id = id;
  ws.name = id;
  ws.created_at = 1;
  return ws;
}

TEST(PgStoreTest, NodesStartingTogetherMigrateOnce) {
  keyward::testing::PostgresDb db;
  ASSERT_TRUE(db.ok()) << db.error();
  std::vector<std::unique_ptr<PgStore>> stores(3);
  std::vector<std::string> errors(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      auto s = PgStore::Open(db.url(), 2);
      if (s.ok()) {
        stores[i] = std::move(*s);
      } else {
        errors[i] = s.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_NE(stores[i], nullptr) << errors[i];
    EXPECT_EQ(*stores[i]->SchemaVersion(), PgStore::LatestSchemaVersion());
  }
  ASSERT_TRUE(stores[0]->CreateWorkspace(MakeWorkspace("ws_a"), Audit("evt_1")).ok());
  EXPECT_TRUE(stores[2]->GetWorkspace("ws_a").ok());
}

TEST(PgStoreTest, APasswordNeverReachesAMessage) {
  const std::string secret = "hunter2-correct-horse";
  // Nothing listens on this socket directory.
  auto s = PgStore::Open(
      "postgresql://kw:" + secret + "@/keyward?host=/nonexistent-keyward-socket-dir", 2);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
  EXPECT_EQ(s.status().ToString().find(secret), std::string::npos) << s.status().ToString();
  auto kv = PgStore::Open("host=/nonexistent-keyward-socket-dir dbname=x password=" + secret, 2);
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().ToString().find(secret), std::string::npos) << kv.status().ToString();
  // A string libpq cannot read is refused without quoting it.
  auto bad = PgStore::Open("postgresql://kw:" + secret + "@host:notaport/db?x", 2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().ToString().find(secret), std::string::npos) << bad.status().ToString();
}

TEST(PgStoreTest, DroppedConnectionsAreRemadeWithoutARestart) {
  keyward::testing::PostgresDb db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto store = PgStore::Open(db.url(), 4);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateWorkspace(MakeWorkspace("ws_a"), Audit("evt_1")).ok());
  // The server ends every connection to the database (as a restart or a
  // failover does).
  PGconn* admin = PQconnectdb(keyward::testing::PostgresDb::AdminUrl().c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
  const std::string kill =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db.name() +
      "' AND pid <> pg_backend_pid()";
  PGresult* r = PQexec(admin, kill.c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  PQfinish(admin);
  // The first call may meet a dead connection (Unavailable: nothing was
  // written); the pool drops it and the next calls work again.
  Status first = (*store)->CreateWorkspace(MakeWorkspace("ws_b"), Audit("evt_2"));
  if (!first.ok()) {
    EXPECT_EQ(first.code(), Code::kUnavailable) << first.ToString();
  }
  Status s;
  for (int i = 0; i < 10; ++i) {
    s = (*store)->CreateWorkspace(MakeWorkspace("ws_c"), Audit("evt_3"));
    if (s.ok()) break;
  }
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE((*store)->Ping().ok());
  EXPECT_TRUE((*store)->GetWorkspace("ws_c").ok());
}

TEST(PgStoreTest, TextItCannotHoldFindsNothingAndIsNeverCutShort) {
  keyward::testing::PostgresDb db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto store = PgStore::Open(db.url(), 2);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateWorkspace(MakeWorkspace("ws_a"), Audit("evt_1")).ok());
  // libpq reads parameters up to a NUL: "ws_a\0…" must not find ws_a.
  EXPECT_TRUE((*store)->GetWorkspace(std::string("ws_a\0junk", 9)).status().IsNotFound());
  EXPECT_TRUE((*store)->GetWorkspace("ws_\xff\xfe").status().IsNotFound());
  EXPECT_TRUE((*store)->GetWorkspace("ws_\xc0\xae").status().IsNotFound());  // overlong
  Workspace bad = MakeWorkspace(std::string("ws_b\0", 5));
  EXPECT_EQ((*store)->CreateWorkspace(bad, Audit("evt_2")).code(), Code::kInvalidRequest);
  EXPECT_TRUE((*store)->GetWorkspace("ws_b").status().IsNotFound()) << "a cut-short id was stored";
  EXPECT_EQ(*(*store)->CountActiveKeys(std::string("ws_a\0", 5), 1), 0);
}

TEST(PgStoreTest, SeveralHostsFindTheOneThatTakesWritesAndCommitsAreSynchronous) {
  keyward::testing::PostgresDb db;
  ASSERT_TRUE(db.ok()) << db.error();
  // The first host does not answer; libpq goes on to the next one that
  // accepts writes.
  std::string url = db.url();
  const size_t at = url.find("host='");
  ASSERT_NE(at, std::string::npos) << url;
  url.insert(at + 6, "/nonexistent-keyward-socket-dir,");
  url += " target_session_attrs=read-write";
  auto store = PgStore::Open(url, 2);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateWorkspace(MakeWorkspace("ws_a"), Audit("evt_1")).ok());
  std::string mode;
  ASSERT_TRUE((*store)
                  ->WithConnection([&](pg_internal::PgConnection& c) -> Status {
                    auto rows = c.Query("SHOW synchronous_commit");
                    if (!rows.ok()) return rows.status();
                    mode = rows->row(0).Text(0);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(mode, "on");
}

}  // namespace
}  // namespace keyward
