// The store contract (core/key_store.h), stated once and run against every
// engine: SQLite, and PostgreSQL on the server ctest's postgres fixture
// starts (each test on a database of its own). Each test races what a
// cluster would race, on one store shared by threads standing in for nodes;
// PostgreSQL's tests also run two stores (two nodes) on one database.
#include "store/store_contract_test.h"

#include <gtest/gtest.h>

#include <set>

namespace keyward {
namespace contract {
namespace {

TEST_P(StoreContractTest, AnswersPing) { EXPECT_TRUE(store_->Ping().ok()); }

// The guard's probe after a storage fault: a durable write that no list,
// change log or audit log shows, and nothing to recover on a healthy store.
TEST_P(StoreContractTest, AProbeWriteCommitsAndChangesNothingAnyoneReads) {
  const int64_t changes = *store_->LatestKeyChange();
  AuditFilter filter;
  const size_t audit = store_->ListAudit(filter, {"", 1000})->items.size();
  ASSERT_TRUE(store_->ProbeWrite().ok());
  ASSERT_TRUE(store_->ProbeWrite().ok());
  EXPECT_TRUE(store_->Recover().ok());
  EXPECT_EQ(*store_->LatestKeyChange(), changes);
  EXPECT_EQ(store_->ListAudit(filter, {"", 1000})->items.size(), audit);
  EXPECT_TRUE(store_->Ping().ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_after_probe"), 100, 100, Audit()).ok());
}

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

// ---- Browser sessions

PortalSession Portal(const std::string& id, Timestamp code_expires_at = 1000) {
  PortalSession ps;
  ps.id = id;
  ps.workspace_id = "ws_contract";
  ps.permissions = {"keys:read"};
  ps.return_url = "https://app.example.com/back";
  ps.actor = "member:m_1";
  ps.code_hash = Sha256("code:" + id);
  ps.created_at = 10;
  ps.created_by = "rk_test";
  ps.code_expires_at = code_expires_at;
  return ps;
}

WebSession Browser(const std::string& token, Timestamp expires_at = 5000) {
  WebSession w;
  w.token_hash = Sha256(token);
  w.kind = "portal";
  w.created_at = 100;
  w.expires_at = expires_at;
  w.ip = "203.0.113.7";
  return w;
}

TEST_P(StoreContractTest, APortalCodeOpensOneSessionEvenWhenRaced) {
  ASSERT_TRUE(store_->InsertPortalSession(Portal("ps_race"), Audit("portal_session.create")).ok());
  std::atomic<int> opened{0}, refused{0};
  OnThreads(8, [&](int i) {
    PortalSession found;
    const Status st =
        store_->RedeemPortalCode(Sha256("code:ps_race"), 100, Browser("tok" + std::to_string(i)),
                                 Audit("portal_session.open"), &found);
    if (st.ok()) opened++;
    if (st.code() == Code::kConflict && found.id == "ps_race") refused++;
  });
  EXPECT_EQ(opened.load(), 1);
  EXPECT_EQ(refused.load(), 7);
  int sessions = 0;
  for (int i = 0; i < 8; ++i) {
    auto w = store_->FindWebSession(Sha256("tok" + std::to_string(i)));
    if (w.ok()) {
      ++sessions;
      EXPECT_EQ(w->portal_session_id, "ps_race");
    }
  }
  EXPECT_EQ(sessions, 1);
  // The open is audited as the portal session's actor, on it.
  AuditFilter filter;
  filter.action = "portal_session.open";
  auto audit = store_->ListAudit(filter, {"", 100});
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->items.size(), 1u);
  EXPECT_EQ(audit->items[0].actor, "member:m_1");
  EXPECT_EQ(audit->items[0].target, "ps_race");
  EXPECT_EQ(audit->items[0].workspace_id, "ws_contract");
}

TEST_P(StoreContractTest, AnExpiredUnknownOrEndedCodeOpensNothing) {
  ASSERT_TRUE(store_->InsertPortalSession(Portal("ps_old", 1000), Audit()).ok());
  PortalSession found;
  EXPECT_EQ(
      store_->RedeemPortalCode(Sha256("code:ps_old"), 1000, Browser("a"), Audit(), &found).code(),
      Code::kExpired);
  EXPECT_EQ(found.return_url, "https://app.example.com/back");
  PortalSession none;
  EXPECT_EQ(store_->RedeemPortalCode(Sha256("nope"), 10, Browser("b"), Audit(), &none).code(),
            Code::kNotFound);
  EXPECT_TRUE(none.id.empty());
  ASSERT_TRUE(store_->InsertPortalSession(Portal("ps_end"), Audit()).ok());
  ASSERT_TRUE(store_->EndPortalSession("ps_end", 50, Audit("portal_session.end")).ok());
  EXPECT_EQ(
      store_->RedeemPortalCode(Sha256("code:ps_end"), 60, Browser("c"), Audit(), &found).code(),
      Code::kConflict);
  for (const char* t : {"a", "b", "c"}) {
    EXPECT_TRUE(store_->FindWebSession(Sha256(t)).status().IsNotFound()) << t;
  }
  EXPECT_TRUE(store_->EndPortalSession("ps_missing", 1, Audit()).IsNotFound());
}

TEST_P(StoreContractTest, EndingAPortalSessionEndsItsBrowsers) {
  ASSERT_TRUE(store_->InsertPortalSession(Portal("ps_live"), Audit()).ok());
  PortalSession found;
  ASSERT_TRUE(
      store_->RedeemPortalCode(Sha256("code:ps_live"), 100, Browser("live"), Audit(), &found).ok());
  EXPECT_FALSE(store_->FindWebSession(Sha256("live"))->ended_at.has_value());
  ASSERT_TRUE(store_->EndPortalSession("ps_live", 200, Audit()).ok());
  auto w = store_->FindWebSession(Sha256("live"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->ended_at, 200);
  EXPECT_EQ(store_->GetPortalSession("ps_live")->ended_at, 200);
}

TEST_P(StoreContractTest, SignOutEndsOneSessionAndPruningDropsOldOnes) {
  WebSession console = Browser("console", 5000);
  console.kind = "console";
  console.root_key_id = "rk_test";
  ASSERT_TRUE(store_->InsertWebSession(console, Audit("console.sign_in")).ok());
  ASSERT_TRUE(store_->InsertWebSession(Browser("other", 9000), Audit()).ok());
  ASSERT_TRUE(store_->EndWebSession(Sha256("console"), 300, Audit("session.sign_out")).ok());
  EXPECT_EQ(store_->FindWebSession(Sha256("console"))->ended_at, 300);
  EXPECT_EQ(store_->FindWebSession(Sha256("console"))->root_key_id, "rk_test");
  EXPECT_FALSE(store_->FindWebSession(Sha256("other"))->ended_at.has_value());
  EXPECT_TRUE(store_->EndWebSession(Sha256("missing"), 1, Audit()).IsNotFound());
  // Pruning before 400 drops the signed-out one, keeps the live one.
  ASSERT_TRUE(store_->PruneSessions(400).ok());
  EXPECT_TRUE(store_->FindWebSession(Sha256("console")).status().IsNotFound());
  EXPECT_TRUE(store_->FindWebSession(Sha256("other")).ok());
  // A portal session goes once its code expired and no browser holds it.
  ASSERT_TRUE(store_->InsertPortalSession(Portal("ps_unused", 100), Audit()).ok());
  ASSERT_TRUE(store_->PruneSessions(400).ok());
  EXPECT_TRUE(store_->GetPortalSession("ps_unused").status().IsNotFound());
}

TEST_P(StoreContractTest, APortalSessionNeedsItsWorkspace) {
  PortalSession ps = Portal("ps_nows");
  ps.workspace_id = "ws_missing";
  EXPECT_TRUE(store_->InsertPortalSession(ps, Audit()).IsNotFound());
  EXPECT_TRUE(store_->GetPortalSession("ps_nows").status().IsNotFound());
}

TEST_P(StoreContractTest, WorkspacesAreSearchedByNameOrIdAndAuditByActorAndAction) {
  for (const auto& [id, name] : {std::pair{"ws_acme1", "Acme Corp"},
                                 {"ws_globex", "Globex"},
                                 {"ws_pct", "100% Acme_like"}}) {
    Workspace ws;
    ws.id = id;
    ws.name = name;
    ws.created_at = 2;
    ASSERT_TRUE(store_->CreateWorkspace(ws, Audit("workspace.create")).ok());
  }
  auto names = [&](const std::string& q) {
    std::set<std::string> out;
    WorkspaceFilter f;
    f.query = q;
    auto page = store_->ListWorkspaces(f, {"", 100});
    EXPECT_TRUE(page.ok());
    for (const auto& w : page->items) out.insert(w.id);
    return out;
  };
  EXPECT_EQ(names("acme"), (std::set<std::string>{"ws_acme1", "ws_pct"}));
  EXPECT_EQ(names("globex"), (std::set<std::string>{"ws_globex"}));
  EXPECT_EQ(names("%"), (std::set<std::string>{"ws_pct"}));  // LIKE's wildcard, literally
  EXPECT_EQ(names("e_l"), (std::set<std::string>{"ws_pct"}));
  EXPECT_EQ(names("").size(), 4u);
  AuditEntry by_member = Audit("key.create");
  by_member.actor = "member:m_1";
  ASSERT_TRUE(store_->AppendAudit(by_member).ok());
  AuditFilter f;
  f.actor = "member:m_1";
  auto mine = store_->ListAudit(f, {"", 100});
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->items.size(), 1u);
  f.action = "workspace.create";
  EXPECT_TRUE(store_->ListAudit(f, {"", 100})->items.empty());
  f.actor.clear();
  EXPECT_EQ(store_->ListAudit(f, {"", 100})->items.size(), 3u);
}

// ---- Two nodes on one database

TEST_P(StoreContractTest, TheKeyLimitHoldsAcrossNodes) {
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  KeyStore* nodes[] = {store_.get(), other.get()};
  std::atomic<int> inserted{0}, refused{0};
  OnThreads(30, [&](int i) {
    Status s = nodes[i % 2]->InsertKey(Key("key_n" + std::to_string(i)), 5, 100, Audit());
    if (s.ok()) ++inserted;
    if (s.code() == Code::kKeyLimitReached) ++refused;
  });
  EXPECT_EQ(inserted.load(), 5);
  EXPECT_EQ(refused.load(), 25);
  EXPECT_EQ(*other->CountActiveKeys("ws_contract", 100), 5);
}

TEST_P(StoreContractTest, TheFirstRootKeyIsMadeOnceWhenNodesStartTogether) {
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  KeyStore* nodes[] = {store_.get(), other.get()};
  std::atomic<int> made{0}, conflicts{0};
  OnThreads(6, [&](int i) {
    RootKey k;
    k.id = "rk_" + std::to_string(i);
    k.hash = Sha256("root" + std::to_string(i));
    k.short_prefix = "kw_root_x";
    k.name = "initial";
    k.created_by = "keyward";
    Status s = nodes[i % 2]->InsertFirstRootKey(k, Audit("root_key.create"));
    if (s.ok()) ++made;
    if (s.code() == Code::kConflict) ++conflicts;
  });
  EXPECT_EQ(made.load(), 1);
  EXPECT_EQ(conflicts.load(), 5);
  EXPECT_EQ(store_->ListRootKeys()->size(), 1u);
}

TEST_P(StoreContractTest, AChangeOnOneNodeReachesTheOthersChangeLog) {
  // Declared before the node whose listener thread calls into it, so the
  // node (and that thread) is gone before the counter is.
  std::atomic<int> signals{0};
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->WatchKeyChanges([&] { ++signals; }).ok());
  const int64_t seen = *other->LatestKeyChange();
  const int before = signals.load();
  ASSERT_TRUE(store_->InsertKey(Key("key_signal"), 10, 100, Audit()).ok());
  ASSERT_TRUE(store_->RevokeKey("key_signal", 150, "test", "", Audit()).ok());
  auto changes = other->KeyChangesSince(seen, 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[1].hash, Sha256("key_signal"));
  if (std::string(GetParam().name) == "sqlite") return;  // no signal: its followers poll
  // PostgreSQL: NOTIFY wakes the other node's follower within a second.
  for (int i = 0; i < 100 && signals.load() == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(signals.load(), before) << "no NOTIFY reached the other node";
}

// Every TEST_P of the suite, in this file and beside it
// (store_contract_plans_test.cc, store_contract_credits_test.cc,
// store_contract_import_test.cc, store_contract_rotation_test.cc), on every
// engine.
INSTANTIATE_TEST_SUITE_P(Engines, StoreContractTest, ::testing::ValuesIn(kEngines),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace contract
}  // namespace keyward
