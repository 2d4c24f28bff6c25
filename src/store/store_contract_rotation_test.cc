// The store contract for rotation policies (core/key_store.h): a workspace
// keeps its own rotate_after_days, and the key list's rotation_due filter
// finds the active keys older than their workspace's policy, else the
// deployment's. Part of StoreContractTest: instantiated on every engine by
// store/store_contract_test.cc.
#include <gtest/gtest.h>

#include "store/store_contract_test.h"

namespace keyward {
namespace contract {
namespace {

constexpr Timestamp kDay = 86'400'000;

std::vector<std::string> DueKeys(KeyStore& store, const std::string& workspace_id,
                                 std::optional<int64_t> deployment_days, Timestamp now) {
  KeyFilter f;
  f.workspace_id = workspace_id;
  f.rotation_due = true;
  f.rotate_after_days = deployment_days;
  f.now = now;
  std::vector<std::string> ids;
  PageRequest page{"", 2};  // pages of two, so the cursor is used too
  while (true) {
    auto got = store.ListKeys(f, page);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) return ids;
    for (const auto& k : got->items) ids.push_back(k.id);
    if (got->next_cursor.empty()) return ids;
    page.cursor = got->next_cursor;
  }
}

TEST_P(StoreContractTest, AWorkspaceKeepsItsRotationPolicy) {
  Workspace ws;
  ws.id = "ws_rotate";
  ws.name = "Rotating";
  ws.rotate_after_days = 30;
  ws.created_at = 5;
  ASSERT_TRUE(store_->CreateWorkspace(ws, Audit("workspace.create")).ok());
  EXPECT_EQ(store_->GetWorkspace("ws_rotate")->rotate_after_days, 30);
  auto page = store_->ListWorkspaces({}, {"", 100});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].rotate_after_days, 30);
  EXPECT_EQ(page->items[1].rotate_after_days, std::nullopt) << "ws_contract has none";

  ws.rotate_after_days = 3650;
  ASSERT_TRUE(store_->UpdateWorkspace(ws, Audit("workspace.update")).ok());
  EXPECT_EQ(store_->GetWorkspace("ws_rotate")->rotate_after_days, 3650);
  ws.rotate_after_days.reset();
  ASSERT_TRUE(store_->UpdateWorkspace(ws, Audit("workspace.update")).ok());
  EXPECT_EQ(store_->GetWorkspace("ws_rotate")->rotate_after_days, std::nullopt);
}

TEST_P(StoreContractTest, TheRotationDueFilterFindsActiveKeysPastTheirPolicy) {
  Workspace strict;
  strict.id = "ws_strict";
  strict.name = "strict";
  strict.rotate_after_days = 10;
  strict.created_at = 2;
  ASSERT_TRUE(store_->CreateWorkspace(strict, Audit()).ok());
  // ws_contract has no policy of its own.
  const Timestamp t0 = 1000 * kDay;
  auto insert = [&](const std::string& id, const std::string& ws, Timestamp created_at) {
    ApiKey k = Key(id);
    k.workspace_id = ws;
    k.created_at = created_at;
    return k;
  };
  ASSERT_TRUE(store_->InsertKey(insert("key_old", "ws_contract", t0), 100, t0, Audit()).ok());
  ASSERT_TRUE(
      store_->InsertKey(insert("key_new", "ws_contract", t0 + 50 * kDay), 100, t0, Audit()).ok());
  ApiKey disabled = insert("key_disabled", "ws_contract", t0);
  disabled.disabled = true;
  ASSERT_TRUE(store_->InsertKey(disabled, 100, t0, Audit()).ok());
  ApiKey expired = insert("key_expired", "ws_contract", t0);
  expired.expires_at = t0 + 60 * kDay;
  ASSERT_TRUE(store_->InsertKey(expired, 100, t0, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(insert("key_revoked", "ws_contract", t0), 100, t0, Audit()).ok());
  ASSERT_TRUE(store_->RevokeKey("key_revoked", t0 + 1, "test", "", Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(insert("key_strict", "ws_strict", t0), 100, t0, Audit()).ok());
  ASSERT_TRUE(
      store_->InsertKey(insert("key_strict_new", "ws_strict", t0 + 85 * kDay), 100, t0, Audit())
          .ok());

  const Timestamp now = t0 + 90 * kDay;
  using Ids = std::vector<std::string>;
  // No deployment policy: only the workspace with its own.
  EXPECT_EQ(DueKeys(*store_, "", std::nullopt, now), Ids{"key_strict"});
  // 90 days: the old active key too, exactly at created_at + 90 days.
  EXPECT_EQ(DueKeys(*store_, "", 90, now), (Ids{"key_strict", "key_old"}));
  EXPECT_EQ(DueKeys(*store_, "ws_contract", 90, now), Ids{"key_old"});
  EXPECT_EQ(DueKeys(*store_, "ws_contract", 90, now - 1), Ids{});
  // The workspace's own wins, even when longer than the deployment's.
  EXPECT_EQ(DueKeys(*store_, "ws_strict", 1, now), Ids{"key_strict"});
  // The longest policy over ten years does not overflow.
  EXPECT_EQ(DueKeys(*store_, "ws_contract", 3650, now), Ids{});
}

}  // namespace
}  // namespace contract
}  // namespace keyward
