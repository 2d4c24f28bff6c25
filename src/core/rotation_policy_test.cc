// Key lifetime policies: rotation advice (a due key still verifies) and the
// maximum lifetime of new keys, through KeyService on a real SQLite store,
// with the clock moved instead of slept.
#include "core/rotation_policy.h"

#include <gtest/gtest.h>

#include "core/key_service.h"
#include "core/sha256.h"
#include "core/time_format.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

constexpr Timestamp kDay = 86'400'000;

TEST(RotationPolicyTest, ADueKeyIsActiveAndAtLeastThatOld) {
  ApiKey k;
  k.created_at = 1'000 * kDay;
  const Timestamp due = k.created_at + 90 * kDay;
  EXPECT_FALSE(IsRotationDue(k, std::nullopt, due + 1000 * kDay));
  EXPECT_FALSE(IsRotationDue(k, 90, due - 1));
  EXPECT_TRUE(IsRotationDue(k, 90, due));
  k.disabled = true;
  EXPECT_FALSE(IsRotationDue(k, 90, due));
  k.disabled = false;
  k.expires_at = due;
  EXPECT_FALSE(IsRotationDue(k, 90, due));
  k.expires_at.reset();
  k.revoked_at = due - 1;
  EXPECT_FALSE(IsRotationDue(k, 90, due));
}

TEST(RotationPolicyTest, AWorkspacesOwnPolicyWinsOverTheDeployments) {
  Workspace ws;
  EXPECT_EQ(EffectiveRotateAfterDays(ws, std::nullopt), std::nullopt);
  EXPECT_EQ(EffectiveRotateAfterDays(ws, 90), 90);
  ws.rotate_after_days = 30;
  EXPECT_EQ(EffectiveRotateAfterDays(ws, 90), 30);
  EXPECT_EQ(EffectiveRotateAfterDays(ws, std::nullopt), 30);
}

TEST(RotationPolicyTest, PolicyDaysAreOneToTenYears) {
  EXPECT_TRUE(ValidatePolicyDays(std::nullopt, "x").ok());
  EXPECT_TRUE(ValidatePolicyDays(1, "x").ok());
  EXPECT_TRUE(ValidatePolicyDays(3650, "x").ok());
  EXPECT_EQ(ValidatePolicyDays(0, "x").code(), Code::kInvalidRequest);
  EXPECT_EQ(ValidatePolicyDays(3651, "x").code(), Code::kInvalidRequest);
  EXPECT_NE(ValidatePolicyDays(-1, "rotate_after_days").message().find("rotate_after_days"),
            std::string::npos);
}

class RotationPolicyServiceTest : public ::testing::Test {
 protected:
  RotationPolicyServiceTest()
      : format_(std::move(KeyFormat::Create("asa", {"live", "test"})).value()) {
    auto s = SqliteStore::Open(dir_.File("keyward.db"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    resolver_ = std::make_unique<StoreKeyResolver>(store_.get());
    Open(std::nullopt, std::nullopt);
  }

  void Open(std::optional<int64_t> rotate_after_days, std::optional<int64_t> max_lifetime_days) {
    KeyServiceOptions o;
    o.store = store_.get();
    o.format = &format_;
    o.clock = &clock_;
    o.rotate_after_days = rotate_after_days;
    o.max_key_lifetime_days = max_lifetime_days;
    service_ = std::make_unique<KeyService>(o);
  }

  Code Verify(const std::string& secret) {
    VerifierOptions o;
    o.format = &format_;
    o.accept_environments = {"live", "test"};
    o.clock = &clock_;
    o.resolver = resolver_.get();
    VerifyRequest req;
    req.key = secret;
    return Verifier(o).Verify(req).code;
  }

  Workspace MakeWorkspace(std::optional<int64_t> rotate_after_days = std::nullopt) {
    NewWorkspaceParams p;
    p.name = "Acme";
    p.rotate_after_days = rotate_after_days;
    auto ws = service_->CreateWorkspace(std::move(p), actor_);
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    return *ws;
  }

  static NewKeyParams Params(const std::string& ws, std::optional<Timestamp> expires_at = {}) {
    NewKeyParams p;
    p.workspace_id = ws;
    p.environment = "live";
    p.name = "server";
    p.scopes = {"keys:manage", "orders:read"};
    p.expires_at = expires_at;
    return p;
  }

  CreatedKey MakeKey(const std::string& ws, std::optional<Timestamp> expires_at = {}) {
    auto k = service_->CreateKey(Params(ws, expires_at), actor_);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return *k;
  }

  // Whether the key is due as the API would show it now.
  bool Due(const std::string& id) {
    auto k = service_->GetKey(id);
    EXPECT_TRUE(k.ok());
    auto days = service_->RotateAfterDays(k->workspace_id);
    EXPECT_TRUE(days.ok());
    return IsRotationDue(*k, *days, clock_.Now());
  }

  // Ids of the keys the list filter rotation_due=true finds.
  std::vector<std::string> DueList(const std::string& ws = "") {
    KeyFilter f;
    f.workspace_id = ws;
    f.rotation_due = true;
    auto page = service_->ListKeys(f, {"", 100});
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> ids;
    for (const auto& k : page->items) ids.push_back(k.id);
    return ids;
  }

  // What an audit-free read of the stored key shows.
  ApiKey Stored(const std::string& id) { return *store_->GetKey(id); }

  keyward::testing::TempDir dir_;
  KeyFormat format_;
  ManualClock clock_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<KeyService> service_;
  std::unique_ptr<StoreKeyResolver> resolver_;
  Actor actor_{"rk_test", "127.0.0.1"};
};

TEST_F(RotationPolicyServiceTest, AKeyPastTheDeploymentsPolicyIsDueAndStillVerifies) {
  Open(90, std::nullopt);
  const Workspace ws = MakeWorkspace();
  const CreatedKey key = MakeKey(ws.id);
  EXPECT_FALSE(Due(key.record.id)) << "a new key is not due";
  EXPECT_TRUE(DueList().empty());

  clock_.Advance(90 * kDay - 1);
  EXPECT_FALSE(Due(key.record.id));
  clock_.Advance(1);
  EXPECT_TRUE(Due(key.record.id)) << "created_at + 90 days <= now";
  EXPECT_EQ(DueList(), std::vector<std::string>{key.record.id});
  EXPECT_EQ(DueList(ws.id), std::vector<std::string>{key.record.id});
  // Advice, not expiry.
  EXPECT_EQ(Verify(key.secret), Code::kValid);

  // The replacement counts from its own created_at.
  auto rotated = service_->RotateKey(key.record.id, 3600, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_FALSE(Due(rotated->record.id));
  EXPECT_EQ(Verify(rotated->secret), Code::kValid);
  clock_.Advance(90 * kDay);
  EXPECT_TRUE(Due(rotated->record.id));
  EXPECT_FALSE(Due(key.record.id)) << "the old key has expired after its grace";
  EXPECT_EQ(DueList(), std::vector<std::string>{rotated->record.id});
}

TEST_F(RotationPolicyServiceTest, AWorkspacesOwnPolicyWinsAndClearingItFallsBack) {
  Open(90, std::nullopt);
  const Workspace strict = MakeWorkspace(30);
  const Workspace plain = MakeWorkspace();
  const CreatedKey a = MakeKey(strict.id);
  const CreatedKey b = MakeKey(plain.id);
  clock_.Advance(30 * kDay);
  EXPECT_TRUE(Due(a.record.id));
  EXPECT_FALSE(Due(b.record.id));
  EXPECT_EQ(DueList(), std::vector<std::string>{a.record.id});
  EXPECT_TRUE(DueList(plain.id).empty());

  // A longer policy of its own than the deployment's wins too.
  WorkspaceUpdate longer;
  longer.rotate_after_days = std::optional<int64_t>(365);
  auto changed = service_->UpdateWorkspace(strict.id, longer, actor_);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->rotate_after_days, 365);
  EXPECT_EQ(service_->RotateAfterDays(*changed), 365);
  clock_.Advance(60 * kDay);
  EXPECT_FALSE(Due(a.record.id));
  EXPECT_TRUE(Due(b.record.id));

  // Null clears it: the deployment's 90 days apply again.
  WorkspaceUpdate clear;
  clear.rotate_after_days = std::optional<int64_t>();
  changed = service_->UpdateWorkspace(strict.id, clear, actor_);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->rotate_after_days, std::nullopt);
  EXPECT_EQ(service_->RotateAfterDays(*changed), 90);
  EXPECT_TRUE(Due(a.record.id));
  EXPECT_EQ(DueList().size(), 2u);

  // With no deployment policy, a workspace without its own has none.
  Open(std::nullopt, std::nullopt);
  EXPECT_FALSE(Due(a.record.id));
  EXPECT_TRUE(DueList().empty());
}

TEST_F(RotationPolicyServiceTest, AWorkspacePolicyOutOfRangeIsRefused) {
  NewWorkspaceParams p;
  p.name = "Acme";
  p.rotate_after_days = 0;
  EXPECT_EQ(service_->CreateWorkspace(p, actor_).status().code(), Code::kInvalidRequest);
  const Workspace ws = MakeWorkspace(10);
  WorkspaceUpdate u;
  u.rotate_after_days = std::optional<int64_t>(3651);
  EXPECT_EQ(service_->UpdateWorkspace(ws.id, u, actor_).status().code(), Code::kInvalidRequest);
  EXPECT_EQ(service_->GetWorkspace(ws.id)->rotate_after_days, 10);
}

TEST_F(RotationPolicyServiceTest, AMaximumLifetimeGivesNewKeysAnExpiry) {
  Open(std::nullopt, 30);
  const Workspace ws = MakeWorkspace();
  const Timestamp now = clock_.Now();
  const CreatedKey key = MakeKey(ws.id);
  EXPECT_EQ(key.record.expires_at, now + 30 * kDay);
  EXPECT_EQ(Stored(key.record.id).expires_at, now + 30 * kDay);
  // An earlier expiry is kept; exactly the limit is allowed.
  EXPECT_EQ(MakeKey(ws.id, now + kDay).record.expires_at, now + kDay);
  EXPECT_EQ(MakeKey(ws.id, now + 30 * kDay).record.expires_at, now + 30 * kDay);

  // The replacement is a new key: its limit counts from the rotation.
  clock_.Advance(10 * kDay);
  auto rotated = service_->RotateKey(key.record.id, 0, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->record.expires_at, now + 30 * kDay) << "inherited, within the limit";
  clock_.Advance(kDay);
  auto none = service_->RotateKey(rotated->record.id, 0, std::optional<Timestamp>(), actor_);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->record.expires_at, clock_.Now() + 30 * kDay) << "asked for none: the limit";
  auto later =
      service_->RotateKey(none->record.id, 0, std::optional<Timestamp>(now + 40 * kDay), actor_);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->record.expires_at, now + 40 * kDay) << "later than the old key, within 30 days";
}

TEST_F(RotationPolicyServiceTest, AKeyMadeBeforeTheLimitIsRotatedIntoIt) {
  const Workspace ws = MakeWorkspace();
  const CreatedKey old = MakeKey(ws.id);
  ASSERT_EQ(old.record.expires_at, std::nullopt);
  Open(std::nullopt, 30);
  auto rotated = service_->RotateKey(old.record.id, 0, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->record.expires_at, clock_.Now() + 30 * kDay);
}

TEST_F(RotationPolicyServiceTest, ALaterExpiryIsRefusedAndNothingStoredChanges) {
  Open(std::nullopt, 30);
  const Workspace ws = MakeWorkspace();
  const Timestamp now = clock_.Now();
  const Timestamp latest = now + 30 * kDay;
  auto expect_refused = [&](const Status& s) {
    EXPECT_EQ(s.code(), Code::kInvalidRequest) << s.ToString();
    EXPECT_NE(s.message().find("max_key_lifetime_days"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("30 days"), std::string::npos) << s.message();
  };

  // Create.
  auto refused = service_->CreateKey(Params(ws.id, latest + 1), actor_);
  expect_refused(refused.status());
  EXPECT_NE(refused.status().message().find(FormatRfc3339(latest)), std::string::npos);
  EXPECT_EQ(*service_->CountActiveKeys(ws.id), 0);

  const CreatedKey key = MakeKey(ws.id, now + kDay);
  const ApiKey before = Stored(key.record.id);

  // Rotate: nothing is made, the old key keeps its expiry.
  clock_.Advance(kDay / 2);
  auto rotate = service_->RotateKey(key.record.id, 60,
                                    std::optional<Timestamp>(clock_.Now() + 31 * kDay), actor_);
  expect_refused(rotate.status());
  EXPECT_NE(rotate.status().message().find(FormatRfc3339(clock_.Now() + 30 * kDay)),
            std::string::npos);
  EXPECT_EQ(*service_->CountActiveKeys(ws.id), 1);
  EXPECT_EQ(Stored(key.record.id).expires_at, before.expires_at);

  // Update: later than created_at + 30 days, or none at all.
  KeyUpdate u;
  u.expires_at = std::optional<Timestamp>(latest + 1);
  auto update = service_->UpdateKey(key.record.id, u, actor_);
  expect_refused(update.status());
  EXPECT_NE(update.status().message().find(FormatRfc3339(latest)), std::string::npos);
  u.expires_at = std::optional<Timestamp>();
  update = service_->UpdateKey(key.record.id, u, actor_);
  expect_refused(update.status());
  EXPECT_NE(update.status().message().find("cannot be null"), std::string::npos);
  EXPECT_EQ(Stored(key.record.id).expires_at, before.expires_at);
  EXPECT_EQ(Stored(key.record.id).version, before.version);
  // Up to the limit is fine.
  u.expires_at = std::optional<Timestamp>(latest);
  ASSERT_TRUE(service_->UpdateKey(key.record.id, u, actor_).ok());
  EXPECT_EQ(Stored(key.record.id).expires_at, latest);
}

TEST_F(RotationPolicyServiceTest, AManagingKeyCannotDodgeTheLimit) {
  // Keys made before the limit, with no expiry: the managing key holds no
  // bound of its own that would stop it.
  const Workspace ws = MakeWorkspace();
  const CreatedKey manager = MakeKey(ws.id);
  const CreatedKey child = MakeKey(ws.id);
  Open(std::nullopt, 30);
  const Actor self{manager.record.id, "10.1.2.3", &manager.record};
  const Timestamp latest = clock_.Now() + 30 * kDay;

  NewKeyParams p = Params(ws.id, latest + 1);
  p.scopes = {"orders:read"};
  EXPECT_EQ(service_->CreateKey(p, self).status().code(), Code::kInvalidRequest);
  p.expires_at.reset();
  auto made = service_->CreateKey(p, self);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->record.expires_at, latest) << "none asked: the limit, not the caller's none";

  // Rotating asks for a new key: later than the limit is refused, none gets it.
  auto refused =
      service_->RotateKey(child.record.id, 0, std::optional<Timestamp>(latest + 1), self);
  EXPECT_EQ(refused.status().code(), Code::kInvalidRequest) << refused.status().ToString();
  EXPECT_EQ(Stored(child.record.id).expires_at, std::nullopt);
  auto rotated = service_->RotateKey(child.record.id, 0, std::optional<Timestamp>(), self);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->record.expires_at, latest);

  // Nor can an update take the replacement past it, or to no expiry.
  KeyUpdate u;
  u.expires_at = std::optional<Timestamp>(latest + 1);
  EXPECT_EQ(service_->UpdateKey(rotated->record.id, u, self).status().code(),
            Code::kInvalidRequest);
  u.expires_at = std::optional<Timestamp>();
  EXPECT_EQ(service_->UpdateKey(rotated->record.id, u, self).status().code(),
            Code::kInvalidRequest);
  EXPECT_EQ(Stored(rotated->record.id).expires_at, latest);
}

TEST_F(RotationPolicyServiceTest, ImportedKeysAreAdoptedAsTheyAre) {
  Open(std::nullopt, 30);
  const Workspace ws = MakeWorkspace();
  KeyImportRow row;
  row.workspace_id = ws.id;
  row.environment = "live";
  row.hash = ImportHash{"sha256", "hex", ToHex(Sha256("an old key from elsewhere"))};
  row.expires_at = clock_.Now() + 400 * kDay;
  KeyImportRow forever = row;
  forever.hash = ImportHash{"sha256", "hex", ToHex(Sha256("another, with no expiry"))};
  forever.expires_at.reset();
  auto result = service_->ImportKeys({row, forever}, false, actor_);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows.size(), 2u);
  for (const auto& r : result->rows) ASSERT_EQ(r.status, ImportRowStatus::kImported) << r.message;
  EXPECT_EQ(Stored(result->rows[0].key_id).expires_at, clock_.Now() + 400 * kDay);
  EXPECT_EQ(Stored(result->rows[1].key_id).expires_at, std::nullopt);
}

}  // namespace
}  // namespace keyward
