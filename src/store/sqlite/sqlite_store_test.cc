#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "core/sha256.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

AuditEntry Audit(const std::string& id) {
  AuditEntry e;
  e.id = id;
  e.at = 1;
  e.actor = "test";
  e.action = "test.action";
  e.target = "t";
  return e;
}

ApiKey Key(const std::string& id, const std::string& ws, const std::string& text) {
  ApiKey k;
  k.id = id;
  k.hash = Sha256(text);
  k.short_prefix = "sk_live_abc";
  k.workspace_id = ws;
  k.environment = "live";
  k.name = "n";
  k.created_at = 10;
  k.created_by = "test";
  return k;
}

Workspace MakeWorkspace(const std::string& id, const std::string& name) {
  Workspace ws;
  ws.id = id;
  ws.name = name;
  ws.created_at = 1;
  return ws;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> Open() {
    auto s = SqliteStore::Open(dir_.File("keyward.db"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  keyward::testing::TempDir dir_;
};

TEST_F(SqliteStoreTest, MigratesOnOpenAndAgainIsANoOp) {
  auto s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  s.reset();
  s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  EXPECT_EQ(*s->IntegrityCheck(), "ok");
}

TEST_F(SqliteStoreTest, RefusesANewerSchema) {
  Open().reset();
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir_.File("keyward.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteStore::Open(dir_.File("keyward.db"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("upgrade keyward"), std::string::npos);
}

TEST_F(SqliteStoreTest, DatabaseFileIsPrivate) {
  auto s = Open();
  struct stat st;
  ASSERT_EQ(::stat(dir_.File("keyward.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteStoreTest, KeysNeedAnExistingWorkspaceAndUniqueHash) {
  auto s = Open();
  EXPECT_TRUE(s->InsertKey(Key("key_1", "ws_x", "a"), 10, 0, Audit("evt_1")).IsNotFound());
  const Workspace ws = MakeWorkspace("ws_1", "Acme");
  ASSERT_TRUE(s->CreateWorkspace(ws, Audit("evt_2")).ok());
  ASSERT_TRUE(s->InsertKey(Key("key_1", "ws_1", "a"), 10, 0, Audit("evt_3")).ok());
  EXPECT_EQ(s->InsertKey(Key("key_2", "ws_1", "a"), 10, 0, Audit("evt_4")).code(), Code::kConflict);
  // The failed insert left no audit entry behind.
  EXPECT_EQ(s->ListAudit({}, {})->items.size(), 2u);
  auto found = s->FindKeyByHash(Sha256("a"));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, "key_1");
  EXPECT_TRUE(s->FindKeyByHash(Sha256("b")).status().IsNotFound());
}

TEST_F(SqliteStoreTest, UsageAddsUpAndLastUsedNeverMovesBack) {
  auto s = Open();
  ASSERT_TRUE(s->CreateWorkspace(MakeWorkspace("ws_1", "Acme"), Audit("evt_1")).ok());
  ASSERT_TRUE(s->InsertKey(Key("key_1", "ws_1", "a"), 10, 0, Audit("evt_2")).ok());
  UsageBatch first;
  first.last_used = {{"key_1", 500}};
  first.rows = {UsageRow{"key_1", "ws_1", 7, Code::kValid, 3}};
  ASSERT_TRUE(s->RecordUsage(first).ok());
  UsageBatch second;
  second.last_used = {{"key_1", 300}, {"key_missing", 1}};
  second.rows = {UsageRow{"key_1", "ws_1", 7, Code::kValid, 2},
                 UsageRow{"key_1", "ws_1", 7, Code::kRevoked, 1}};
  ASSERT_TRUE(s->RecordUsage(second).ok());
  EXPECT_EQ(s->GetKey("key_1")->last_used_at, 500);
  // Counts add up per key, minute and code.
  auto points = s->QueryUsage(UsageQuery{"ws_1", "", "", 0, 60, 60});
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 2u);
  EXPECT_EQ((*points)[0].code, Code::kRevoked);
  EXPECT_EQ((*points)[0].count, 1);
  EXPECT_EQ((*points)[1].code, Code::kValid);
  EXPECT_EQ((*points)[1].count, 5);
  auto counts = s->CountRequests({"key_1"}, 100);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)["key_1"].last_24h, 5);
  ASSERT_TRUE(s->PruneUsage(8).ok());
  EXPECT_TRUE(s->QueryUsage(UsageQuery{"ws_1", "", "", 0, 60, 60})->empty());
}

TEST_F(SqliteStoreTest, RootKeyRevokeIsIdempotent) {
  auto s = Open();
  RootKey r{"rk_1", Sha256("root"), "kw_root_abc", "ops", 1, "cli", std::nullopt};
  ASSERT_TRUE(s->InsertRootKey(r, Audit("evt_1")).ok());
  auto first = s->RevokeRootKey("rk_1", 100, Audit("evt_2"));
  ASSERT_TRUE(first.ok());
  auto second = s->RevokeRootKey("rk_1", 200, Audit("evt_3"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->revoked_at, 100);
  EXPECT_EQ(s->ListAudit({}, {})->items.size(), 2u);
  EXPECT_TRUE(s->RevokeRootKey("rk_nope", 1, Audit("evt_4")).status().IsNotFound());
}

}  // namespace
}  // namespace keyward
