#include "core/key_service.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/sha256.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/key_store_wrapper.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

class RecordingObserver : public KeyChangeObserver {
 public:
  void OnKeyChanged(const ApiKey& key) override { changed.push_back(key.id); }
  std::vector<std::string> changed;
};

class KeyServiceTest : public ::testing::Test {
 protected:
  KeyServiceTest() : format_(std::move(KeyFormat::Create("asa", {"live", "test"})).value()) {
    Open();
  }

  void Open() {
    service_.reset();
    store_.reset();
    auto s = SqliteStore::Open(dir_.File("keyward.db"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    KeyServiceOptions o;
    o.store = store_.get();
    o.format = &format_;
    o.clock = &clock_;
    o.default_max_active = 20;
    service_ = std::make_unique<KeyService>(o);
    service_->AddObserver(&observer_);
    resolver_ = std::make_unique<StoreKeyResolver>(store_.get());
  }

  // Another node's key service: this fixture's format and clock on store.
  KeyServiceOptions NodeOptions(KeyStore* store) {
    KeyServiceOptions o;
    o.format = &format_;
    o.clock = &clock_;
    o.store = store;
    return o;
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

  Workspace MakeWorkspace(std::optional<int64_t> max = std::nullopt) {
    auto ws = service_->CreateWorkspace("Acme", max, actor_);
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    return *ws;
  }

  static NewKeyParams Params(const std::string& ws, const std::string& name) {
    NewKeyParams p;
    p.workspace_id = ws;
    p.environment = "live";
    p.name = name;
    return p;
  }

  CreatedKey MakeKey(const std::string& ws, const std::string& env = "live") {
    NewKeyParams p;
    p.workspace_id = ws;
    p.environment = env;
    p.name = "production-server";
    p.scopes = {"products:read"};
    auto k = service_->CreateKey(p, actor_);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return *k;
  }

  keyward::testing::TempDir dir_;
  KeyFormat format_;
  ManualClock clock_;
  RecordingObserver observer_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<KeyService> service_;
  std::unique_ptr<StoreKeyResolver> resolver_;
  Actor actor_{"rk_test", "127.0.0.1"};
};

TEST_F(KeyServiceTest, CreateReturnsTheSecretOnceAndStoresItsHash) {
  const Workspace ws = MakeWorkspace();
  const CreatedKey k = MakeKey(ws.id);
  EXPECT_EQ(k.secret.rfind("asa_live_", 0), 0u);
  EXPECT_EQ(k.record.short_prefix, k.secret.substr(0, 9 + 12));
  EXPECT_EQ(k.record.hash, Sha256(k.secret));
  auto stored = service_->GetKey(k.record.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->hash, Sha256(k.secret));
  EXPECT_EQ(stored->StatusAt(clock_.Now()), KeyStatus::kActive);
  EXPECT_EQ(Verify(k.secret), Code::kValid);
}

TEST_F(KeyServiceTest, RefusesPastTheWorkspaceLimit) {
  const Workspace ws = MakeWorkspace(5);  // amser's limit
  std::vector<CreatedKey> keys;
  for (int i = 0; i < 5; ++i) keys.push_back(MakeKey(ws.id));
  NewKeyParams p;
  p.workspace_id = ws.id;
  p.environment = "live";
  p.name = "sixth";
  auto sixth = service_->CreateKey(p, actor_);
  ASSERT_FALSE(sixth.ok());
  EXPECT_EQ(sixth.status().code(), Code::kKeyLimitReached);
  EXPECT_NE(sixth.status().message().find("revoke an unused key first"), std::string::npos);
  // Revoking one frees a slot.
  ASSERT_TRUE(service_->RevokeKey(keys[0].record.id, "", actor_).ok());
  EXPECT_TRUE(service_->CreateKey(p, actor_).ok());
  // An expired key frees its slot too.
  EXPECT_FALSE(service_->CreateKey(p, actor_).ok());
}

TEST_F(KeyServiceTest, DefaultLimitIsTheDeployments) {
  const Workspace ws = MakeWorkspace();
  for (int i = 0; i < 20; ++i) MakeKey(ws.id);
  NewKeyParams p;
  p.workspace_id = ws.id;
  p.environment = "test";
  p.name = "one too many";
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kKeyLimitReached);
}

TEST_F(KeyServiceTest, ExpiredKeysFreeTheirSlot) {
  const Workspace ws = MakeWorkspace(1);
  NewKeyParams p;
  p.workspace_id = ws.id;
  p.environment = "live";
  p.name = "short-lived";
  p.expires_at = clock_.Now() + 60'000;
  auto k = service_->CreateKey(p, actor_);
  ASSERT_TRUE(k.ok());
  p.expires_at.reset();
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kKeyLimitReached);
  clock_.Advance(60'000);
  EXPECT_EQ(Verify(k->secret), Code::kExpired);
  EXPECT_TRUE(service_->CreateKey(p, actor_).ok());
}

TEST_F(KeyServiceTest, ValidatesInputAndStoresNothingOnError) {
  const Workspace ws = MakeWorkspace();
  NewKeyParams p;
  p.workspace_id = ws.id;
  p.environment = "prod";
  p.name = "x";
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kInvalidRequest);
  p.environment = "live";
  p.ip_allowlist = {"10.0.0.1/8"};
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kInvalidRequest);
  p.ip_allowlist = {};
  p.endpoint_allowlist = {"products"};
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kInvalidRequest);
  p.endpoint_allowlist = {};
  p.name = "";
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kInvalidRequest);
  p.name = "ok";
  p.scopes = {"has space"};
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kInvalidRequest);
  p.scopes = {};
  p.rate_limit = RateLimit{0, 60};
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kInvalidRequest);
  p.rate_limit.reset();
  p.expires_at = clock_.Now() - 1;
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kInvalidRequest);
  p.expires_at.reset();
  p.workspace_id = "ws_missing";
  EXPECT_EQ(service_->CreateKey(p, actor_).status().code(), Code::kNotFound);

  auto keys = service_->ListKeys({}, {});
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->items.empty());
  auto audit = service_->ListAudit({}, {});
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->items.size(), 1u);  // only the workspace creation
}

TEST_F(KeyServiceTest, RevokeIsImmediatePermanentAndIdempotent) {
  const Workspace ws = MakeWorkspace();
  const CreatedKey k = MakeKey(ws.id);
  clock_.Advance(1000);
  auto first = service_->RevokeKey(k.record.id, "leaked in a paste bin", actor_);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->revoked_at);
  EXPECT_EQ(Verify(k.secret), Code::kRevoked);
  clock_.Advance(5000);
  auto second = service_->RevokeKey(k.record.id, "again", Actor{"rk_other", ""});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->revoked_at, first->revoked_at);
  EXPECT_EQ(second->revoked_by, "rk_test");
  EXPECT_EQ(second->revoked_reason, "leaked in a paste bin");
  KeyUpdate enable;
  enable.enabled = true;
  EXPECT_EQ(service_->UpdateKey(k.record.id, enable, actor_).status().code(), Code::kKeyRevoked);
  EXPECT_EQ(service_->RotateKey(k.record.id, 60, std::nullopt, actor_).status().code(),
            Code::kKeyRevoked);
  EXPECT_EQ(Verify(k.secret), Code::kRevoked);
  EXPECT_EQ(service_->RevokeKey("key_nope", "", actor_).status().code(), Code::kNotFound);
}

TEST_F(KeyServiceTest, RotateWithGracePeriod) {
  const Workspace ws = MakeWorkspace(1);
  NewKeyParams p;
  p.workspace_id = ws.id;
  p.environment = "test";
  p.name = "webhook-consumer";
  p.scopes = {"a", "b"};
  p.ip_allowlist = {"10.0.0.0/8"};
  p.endpoint_allowlist = {"GET /v1/*"};
  p.rate_limit = RateLimit{100, 60};
  p.meta_json = R"({"team":"payments"})";
  auto old = service_->CreateKey(p, actor_);
  ASSERT_TRUE(old.ok());
  // Rotation is allowed at the limit: it replaces a key.
  auto rotated = service_->RotateKey(old->record.id, 3600, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  const ApiKey& n = rotated->record;
  EXPECT_NE(n.id, old->record.id);
  EXPECT_NE(rotated->secret, old->secret);
  EXPECT_EQ(n.name, "webhook-consumer");
  EXPECT_EQ(n.environment, "test");
  EXPECT_EQ(n.scopes, p.scopes);
  EXPECT_EQ(n.ip_allowlist, p.ip_allowlist);
  EXPECT_EQ(n.endpoint_allowlist, p.endpoint_allowlist);
  EXPECT_EQ(n.rate_limit, p.rate_limit);
  EXPECT_EQ(n.meta_json, p.meta_json);
  EXPECT_EQ(n.rotated_from, old->record.id);
  EXPECT_EQ(service_->GetKey(n.id)->rotated_from, old->record.id);

  auto old_now = service_->GetKey(old->record.id);
  ASSERT_TRUE(old_now.ok());
  EXPECT_EQ(old_now->expires_at, clock_.Now() + 3600'000);
  // Both verify during the grace period (restrictions aside: no IP given).
  const auto has_ip = [&](const std::string& secret) {
    VerifierOptions o;
    o.format = &format_;
    o.accept_environments = {"test"};
    o.clock = &clock_;
    o.resolver = resolver_.get();
    VerifyRequest req;
    req.key = secret;
    req.ip = "10.1.1.1";
    req.method = "GET";
    req.path = "/v1/x";
    return Verifier(o).Verify(req).code;
  };
  EXPECT_EQ(has_ip(old->secret), Code::kValid);
  EXPECT_EQ(has_ip(rotated->secret), Code::kValid);
  clock_.Advance(3600'000);
  EXPECT_EQ(has_ip(old->secret), Code::kExpired);
  EXPECT_EQ(has_ip(rotated->secret), Code::kValid);
  // The observer heard of both keys.
  EXPECT_NE(std::find(observer_.changed.begin(), observer_.changed.end(), old->record.id),
            observer_.changed.end());
}

TEST_F(KeyServiceTest, AKeyIsRotatedAtMostOnce) {
  const Workspace ws = MakeWorkspace();
  const CreatedKey k = MakeKey(ws.id);
  auto first = service_->RotateKey(k.record.id, 60, std::nullopt, actor_);
  ASSERT_TRUE(first.ok());
  auto second = service_->RotateKey(k.record.id, 60, std::nullopt, actor_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kConflict);
  EXPECT_NE(second.status().message().find(first->record.id), std::string::npos);
  // The replacement can be rotated once its predecessor's grace is over.
  clock_.Advance(60'001);
  EXPECT_TRUE(service_->RotateKey(first->record.id, 0, std::nullopt, actor_).ok());
  EXPECT_EQ(service_->ListKeys({}, {})->items.size(), 3u);
}

// Issue 9, finding 5: rotating each new key again (with a long grace) took
// a workspace with a limit of 5 to 11 working keys.
TEST_F(KeyServiceTest, TheSlotRule) {
  const Workspace ws = MakeWorkspace(5);
  std::vector<CreatedKey> keys;
  for (int i = 0; i < 5; ++i) keys.push_back(MakeKey(ws.id));
  // A grace may take the workspace one over its limit...
  auto a = service_->RotateKey(keys[0].record.id, 3600, std::nullopt, actor_);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*service_->CountActiveKeys(ws.id), 6);
  // ...only once per slot: its successor cannot be rotated while it works,
  auto chained = service_->RotateKey(a->record.id, 3600, std::nullopt, actor_);
  EXPECT_EQ(chained.status().code(), Code::kConflict) << chained.status().ToString();
  EXPECT_NE(chained.status().message().find(keys[0].record.id), std::string::npos);
  // ...and never two over: another slot's rotation needs a grace of 0.
  auto b = service_->RotateKey(keys[1].record.id, 3600, std::nullopt, actor_);
  EXPECT_EQ(b.status().code(), Code::kKeyLimitReached) << b.status().ToString();
  auto b0 = service_->RotateKey(keys[1].record.id, 0, std::nullopt, actor_);
  ASSERT_TRUE(b0.ok()) << b0.status().ToString();
  EXPECT_EQ(*service_->CountActiveKeys(ws.id), 6);
  // Creating is refused while the grace lasts, naming the count and the
  // limit (not the count as the limit); after it, a slot is back.
  const Status refused = service_->CreateKey(Params(ws.id, "x"), actor_).status();
  EXPECT_EQ(refused.code(), Code::kKeyLimitReached);
  EXPECT_NE(refused.message().find("has 6 active keys and its limit is 5"), std::string::npos)
      << refused.message();
  EXPECT_NE(b.status().message().find("limit of 5"), std::string::npos) << b.status().message();
  clock_.Advance(3600'001);
  EXPECT_EQ(*service_->CountActiveKeys(ws.id), 5);
  EXPECT_TRUE(service_->RotateKey(a->record.id, 60, std::nullopt, actor_).ok());
}

TEST_F(KeyServiceTest, BringingAKeyBackNeedsASlot) {
  const Workspace ws = MakeWorkspace(2);
  NewKeyParams p = Params(ws.id, "short-lived");
  p.expires_at = clock_.Now() + 1000;
  auto expiring = service_->CreateKey(p, actor_);
  ASSERT_TRUE(expiring.ok());
  clock_.Advance(1001);
  MakeKey(ws.id);
  MakeKey(ws.id);
  // Issue 9, finding 5: PATCH expires_at null revived an expired key past
  // the limit.
  KeyUpdate revive;
  revive.expires_at = std::optional<Timestamp>();
  EXPECT_EQ(service_->UpdateKey(expiring->record.id, revive, actor_).status().code(),
            Code::kKeyLimitReached);
  EXPECT_EQ(Verify(expiring->secret), Code::kExpired);
  // A disabled key keeps its slot; enabling it is fine at the limit, but
  // not past it (when the limit was lowered meanwhile).
  KeyFilter mine;
  mine.workspace_id = ws.id;
  auto third = service_->ListKeys(mine, {})->items[0];
  KeyUpdate off;
  off.enabled = false;
  ASSERT_TRUE(service_->UpdateKey(third.id, off, actor_).ok());
  KeyUpdate on;
  on.enabled = true;
  EXPECT_TRUE(service_->UpdateKey(third.id, on, actor_).ok());
  ASSERT_TRUE(service_->UpdateKey(third.id, off, actor_).ok());
  WorkspaceUpdate lower;
  lower.max_active_keys = std::optional<int64_t>(1);
  ASSERT_TRUE(service_->UpdateWorkspace(ws.id, lower, actor_).ok());
  EXPECT_EQ(service_->UpdateKey(third.id, on, actor_).status().code(), Code::kKeyLimitReached);
}

// Issue 9, finding 6: rotation gave the successor no expiry, and an expired
// key could be rotated into a working one.
TEST_F(KeyServiceTest, ExpiryIsInheritedNeverEscaped) {
  const Workspace ws = MakeWorkspace();
  NewKeyParams p = Params(ws.id, "expiring");
  p.expires_at = clock_.Now() + 86'400'000;
  auto old = service_->CreateKey(p, actor_);
  ASSERT_TRUE(old.ok());
  auto rotated = service_->RotateKey(old->record.id, 60, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->record.expires_at, p.expires_at);
  // A root key may set another, or none.
  clock_.Advance(60'001);
  auto extended = service_->RotateKey(rotated->record.id, 0,
                                      std::make_optional(std::optional<Timestamp>()), actor_);
  ASSERT_TRUE(extended.ok());
  EXPECT_FALSE(extended->record.expires_at);
  // Expired and revoked keys are not rotated.
  NewKeyParams q = Params(ws.id, "soon");
  q.expires_at = clock_.Now() + 1000;
  auto soon = service_->CreateKey(q, actor_);
  ASSERT_TRUE(soon.ok());
  clock_.Advance(1000);
  auto refused = service_->RotateKey(soon->record.id, 0, std::nullopt, actor_);
  EXPECT_EQ(refused.status().code(), Code::kConflict);
  EXPECT_EQ(Verify(soon->secret), Code::kExpired);
}

TEST_F(KeyServiceTest, ARotationSharesOneRateLimitBudget) {
  const Workspace ws = MakeWorkspace();
  NewKeyParams p = Params(ws.id, "limited");
  p.rate_limit = RateLimit{3, 60};
  auto old = service_->CreateKey(p, actor_);
  ASSERT_TRUE(old.ok());
  auto rotated = service_->RotateKey(old->record.id, 600, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->record.lineage_id, old->record.id);
  MemoryRateLimiter limiter;
  VerifierOptions o;
  o.format = &format_;
  o.accept_environments = {"live"};
  o.clock = &clock_;
  o.resolver = resolver_.get();
  o.rate_limiter = &limiter;
  Verifier verifier(o);
  int valid = 0;
  for (int i = 0; i < 4; ++i) {
    for (const std::string* secret : {&old->secret, &rotated->secret}) {
      VerifyRequest req;
      req.key = *secret;
      if (verifier.Verify(req).valid()) ++valid;
    }
  }
  // Issue 9, finding 9: each got a full budget during the grace (6).
  EXPECT_EQ(valid, 3);
}

// Issue 9, finding 4: a managing key that is IP-restricted, expiring and
// rate-limited created an unrestricted, never-expiring managing key, patched
// its own restrictions away and re-enabled a key the operator disabled.
TEST_F(KeyServiceTest, AManagingKeyNeverExceedsItself) {
  const Workspace ws = MakeWorkspace();
  NewKeyParams mp = Params(ws.id, "manager");
  mp.scopes = {"keys:manage"};
  mp.ip_allowlist = {"10.0.0.0/8"};
  mp.expires_at = clock_.Now() + 86'400'000;
  mp.rate_limit = RateLimit{10, 60};
  auto manager = service_->CreateKey(mp, actor_);
  ASSERT_TRUE(manager.ok());
  const Actor self{manager->record.id, "10.1.2.3", &manager->record};

  // Left out means "as the caller".
  auto child = service_->CreateKey(Params(ws.id, "child"), self);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_EQ(child->record.ip_allowlist, mp.ip_allowlist);
  EXPECT_EQ(child->record.expires_at, mp.expires_at);
  EXPECT_EQ(child->record.rate_limit, mp.rate_limit);
  // Wider is forbidden, naming the bound.
  NewKeyParams wide = Params(ws.id, "wide");
  wide.ip_allowlist = {"0.0.0.0/0"};
  auto refused = service_->CreateKey(wide, self);
  EXPECT_EQ(refused.status().code(), Code::kForbidden);
  EXPECT_NE(refused.status().message().find("ip_allowlist"), std::string::npos);
  wide.ip_allowlist = {};
  wide.expires_at = clock_.Now() + 2 * 86'400'000LL;
  EXPECT_EQ(service_->CreateKey(wide, self).status().code(), Code::kForbidden);
  wide.expires_at.reset();
  wide.rate_limit = RateLimit{1000, 60};
  EXPECT_EQ(service_->CreateKey(wide, self).status().code(), Code::kForbidden);

  // Its own restrictions are not its to change.
  KeyUpdate own;
  own.ip_allowlist = std::vector<std::string>{};
  EXPECT_EQ(service_->UpdateKey(manager->record.id, own, self).status().code(), Code::kForbidden);
  own = {};
  own.expires_at = std::optional<Timestamp>();
  EXPECT_EQ(service_->UpdateKey(manager->record.id, own, self).status().code(), Code::kForbidden);
  own = {};
  own.rate_limit = std::optional<RateLimit>();
  EXPECT_EQ(service_->UpdateKey(manager->record.id, own, self).status().code(), Code::kForbidden);
  own = {};
  own.name = "renamed";
  EXPECT_TRUE(service_->UpdateKey(manager->record.id, own, self).ok());

  // Patching a key past the bounds is forbidden too.
  KeyUpdate widen;
  widen.ip_allowlist = std::vector<std::string>{"0.0.0.0/0"};
  EXPECT_EQ(service_->UpdateKey(child->record.id, widen, self).status().code(), Code::kForbidden);

  // It may enable only what it disabled.
  KeyUpdate off, on;
  off.enabled = false;
  on.enabled = true;
  ASSERT_TRUE(service_->UpdateKey(child->record.id, off, actor_).ok());  // the operator
  EXPECT_EQ(service_->UpdateKey(child->record.id, on, self).status().code(), Code::kForbidden);
  EXPECT_EQ(Verify(child->secret), Code::kDisabled);
  ASSERT_TRUE(service_->UpdateKey(child->record.id, on, actor_).ok());
  ASSERT_TRUE(service_->UpdateKey(child->record.id, off, self).ok());
  EXPECT_TRUE(service_->UpdateKey(child->record.id, on, self).ok());

  // Rotation keeps the expiry; a managing key cannot extend it.
  auto later = service_->RotateKey(child->record.id, 0,
                                   std::make_optional(std::optional<Timestamp>()), self);
  EXPECT_EQ(later.status().code(), Code::kForbidden);
  auto same = service_->RotateKey(child->record.id, 0, std::nullopt, self);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->record.expires_at, mp.expires_at);
}

TEST_F(KeyServiceTest, RotateNeverExtendsAnEarlierExpiry) {
  const Workspace ws = MakeWorkspace();
  NewKeyParams p;
  p.workspace_id = ws.id;
  p.environment = "live";
  p.name = "x";
  p.expires_at = clock_.Now() + 10'000;
  auto old = service_->CreateKey(p, actor_);
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(service_->RotateKey(old->record.id, 3600, std::nullopt, actor_).ok());
  EXPECT_EQ(service_->GetKey(old->record.id)->expires_at, clock_.Now() + 10'000);
}

TEST_F(KeyServiceTest, UpdateChangesOnlyWhatIsGiven) {
  const Workspace ws = MakeWorkspace();
  const CreatedKey k = MakeKey(ws.id);
  KeyUpdate u;
  u.name = "renamed";
  u.enabled = false;
  auto updated = service_->UpdateKey(k.record.id, u, actor_);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->name, "renamed");
  EXPECT_EQ(updated->scopes, std::vector<std::string>{"products:read"});
  EXPECT_EQ(Verify(k.secret), Code::kDisabled);
  u = {};
  u.enabled = true;
  u.ip_allowlist = std::vector<std::string>{"2001:0db8::/32"};
  updated = service_->UpdateKey(k.record.id, u, actor_);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->ip_allowlist, std::vector<std::string>{"2001:db8::/32"});
  u = {};
  u.ip_allowlist = std::vector<std::string>{"nonsense"};
  EXPECT_EQ(service_->UpdateKey(k.record.id, u, actor_).status().code(), Code::kInvalidRequest);
  EXPECT_EQ(service_->GetKey(k.record.id)->ip_allowlist, std::vector<std::string>{"2001:db8::/32"});
}

TEST_F(KeyServiceTest, ListPaginatesWithNoSilentCap) {
  const Workspace ws = MakeWorkspace(100);
  const Workspace other = MakeWorkspace();
  std::set<std::string> created;
  for (int i = 0; i < 45; ++i) {
    created.insert(MakeKey(ws.id, i % 3 ? "live" : "test").record.id);
  }
  MakeKey(other.id);
  std::set<std::string> seen;
  PageRequest page;
  page.limit = 10;
  KeyFilter f;
  f.workspace_id = ws.id;
  int pages = 0;
  while (true) {
    auto r = service_->ListKeys(f, page);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ++pages;
    for (const auto& k : r->items) {
      EXPECT_EQ(k.workspace_id, ws.id);
      EXPECT_TRUE(seen.insert(k.id).second);
    }
    if (r->next_cursor.empty()) break;
    page.cursor = r->next_cursor;
  }
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(seen, created);

  f.environment = "test";
  page = {};
  auto tests = service_->ListKeys(f, page);
  ASSERT_TRUE(tests.ok());
  EXPECT_EQ(tests->items.size(), 15u);

  // Status filter.
  ASSERT_TRUE(service_->RevokeKey(tests->items[0].id, "", actor_).ok());
  f.status = KeyStatus::kRevoked;
  EXPECT_EQ(service_->ListKeys(f, page)->items.size(), 1u);
  f.status = KeyStatus::kActive;
  EXPECT_EQ(service_->ListKeys(f, page)->items.size(), 14u);

  page.cursor = "key_doesnotexist";
  EXPECT_EQ(service_->ListKeys(f, page).status().code(), Code::kInvalidRequest);
  page.cursor = "";
  page.limit = 0;
  EXPECT_EQ(service_->ListKeys(f, page).status().code(), Code::kInvalidRequest);
}

TEST_F(KeyServiceTest, EveryMutationIsAudited) {
  const Workspace ws = MakeWorkspace();
  const CreatedKey k = MakeKey(ws.id);
  KeyUpdate u;
  u.name = "n2";
  ASSERT_TRUE(service_->UpdateKey(k.record.id, u, actor_).ok());
  auto rotated = service_->RotateKey(k.record.id, 0, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok());
  ASSERT_TRUE(service_->RevokeKey(rotated->record.id, "done", actor_).ok());
  WorkspaceUpdate wu;
  wu.name = "Acme 2";
  ASSERT_TRUE(service_->UpdateWorkspace(ws.id, wu, actor_).ok());

  AuditFilter f;
  f.workspace_id = ws.id;
  auto log = service_->ListAudit(f, {});
  ASSERT_TRUE(log.ok());
  std::vector<std::string> actions;
  for (const auto& e : log->items) {
    actions.push_back(e.action);
    EXPECT_EQ(e.actor, "rk_test");
    EXPECT_EQ(e.ip, "127.0.0.1");
    EXPECT_EQ(e.details_json.find(k.secret), std::string::npos);
    EXPECT_EQ(e.details_json.find(rotated->secret), std::string::npos);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"workspace.update", "key.revoke", "key.rotate",
                                               "key.update", "key.create", "workspace.create"}));
}

TEST_F(KeyServiceTest, RootKeys) {
  auto first = service_->EnsureRootKey(Actor{"bootstrap", ""});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  const std::string secret = (*first)->secret;
  EXPECT_EQ(secret.rfind("kw_root_", 0), 0u);
  auto again = service_->EnsureRootKey(Actor{"bootstrap", ""});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());

  auto auth = service_->AuthenticateRootKey(secret);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->id, (*first)->record.id);
  EXPECT_EQ(service_->AuthenticateRootKey("kw_root_nope").status().code(), Code::kUnauthorized);
  EXPECT_EQ(service_->AuthenticateRootKey(service_->root_format().Generate("root")).status().code(),
            Code::kUnauthorized);
  ASSERT_TRUE(service_->RevokeRootKey(auth->id, actor_).ok());
  EXPECT_EQ(service_->AuthenticateRootKey(secret).status().code(), Code::kUnauthorized);

  // A root key named with a key (`keyward root-keys create --name <key>`)
  // would list and audit that key in full.
  auto named = service_->CreateRootKey("ops " + secret, actor_);
  EXPECT_EQ(named.status().code(), Code::kInvalidRequest);
  EXPECT_EQ(named.status().message().find(secret), std::string::npos);
  EXPECT_EQ(service_->ListRootKeys()->size(), 1u);
}

TEST_F(KeyServiceTest, LifecycleSurvivesCloseAndReopen) {
  const Workspace ws = MakeWorkspace(3);
  const CreatedKey kept = MakeKey(ws.id);
  const CreatedKey revoked = MakeKey(ws.id, "test");
  ASSERT_TRUE(service_->RevokeKey(revoked.record.id, "rotate", actor_).ok());
  auto rotated = service_->RotateKey(kept.record.id, 600, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok());

  Open();  // close the database and open the file again

  EXPECT_EQ(Verify(kept.secret), Code::kValid);
  EXPECT_EQ(Verify(rotated->secret), Code::kValid);
  EXPECT_EQ(Verify(revoked.secret), Code::kRevoked);
  auto ws2 = service_->GetWorkspace(ws.id);
  ASSERT_TRUE(ws2.ok());
  EXPECT_EQ(ws2->max_active_keys, 3);
  EXPECT_EQ(service_->GetKey(kept.record.id)->expires_at, clock_.Now() + 600'000);
  clock_.Advance(600'000);
  EXPECT_EQ(Verify(kept.secret), Code::kExpired);
  EXPECT_EQ(service_->ListAudit({}, {})->items.size(), 5u);
}

TEST_F(KeyServiceTest, NoSecretIsWrittenToTheDatabaseFiles) {
  const Workspace ws = MakeWorkspace();
  std::vector<std::string> secrets;
  for (int i = 0; i < 5; ++i) secrets.push_back(MakeKey(ws.id).secret);
  auto rotated =
      service_->RotateKey(service_->ListKeys({}, {})->items[0].id, 60, std::nullopt, actor_);
  ASSERT_TRUE(rotated.ok());
  secrets.push_back(rotated->secret);
  auto root = service_->CreateRootKey("ops", actor_);
  ASSERT_TRUE(root.ok());
  secrets.push_back(root->secret);

  // Read the files while the database is open, so the WAL is there.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    const std::string bytes = keyward::testing::ReadFileBytes(entry.path());
    ++files;
    for (const auto& s : secrets) {
      EXPECT_EQ(bytes.find(s), std::string::npos) << "secret found in " << entry.path();
      // Not even the random part after the short prefix.
      EXPECT_EQ(bytes.find(s.substr(s.size() - 28)), std::string::npos) << entry.path();
    }
  }
  EXPECT_GE(files, 2);  // keyward.db and keyward.db-wal at least
  EXPECT_TRUE(std::filesystem::exists(dir_.File("keyward.db-wal")));
}

// A store whose root-key lookups can be counted and made to fail, as a
// database that went away.
class RootKeyLookups : public keyward::testing::KeyStoreWrapper {
 public:
  using KeyStoreWrapper::KeyStoreWrapper;
  Result<RootKey> FindRootKeyByHash(const KeyHash& hash) override {
    ++lookups;
    if (down) return Status::Unavailable("the database is unreachable");
    return KeyStoreWrapper::FindRootKeyByHash(hash);
  }
  int lookups = 0;
  bool down = false;
};

TEST_F(KeyServiceTest, RootKeysAreReadOnceASecondAndRevocationsElsewhereLandWithinIt) {
  RootKeyLookups node_a(store_.get()), node_b(store_.get());
  KeyService a(NodeOptions(&node_a));
  KeyService b(NodeOptions(&node_b));
  auto root = a.CreateRootKey("ops", actor_);
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(b.AuthenticateRootKey(root->secret).ok());
  ASSERT_TRUE(b.AuthenticateRootKey(root->secret).ok());
  EXPECT_EQ(node_b.lookups, 1) << "a second call within the second read the store again";
  // Revoked through node a: a at once, b once its second is over.
  ASSERT_TRUE(a.AuthenticateRootKey(root->secret).ok());
  ASSERT_TRUE(a.RevokeRootKey(root->record.id, actor_).ok());
  EXPECT_EQ(a.AuthenticateRootKey(root->secret).status().code(), Code::kUnauthorized);
  clock_.Advance(1000);
  EXPECT_EQ(b.AuthenticateRootKey(root->secret).status().code(), Code::kUnauthorized);
}

// The cached root key's freshness is monotonic time: a wall clock set
// forward does not send every call to the store, and one set back a day does
// not keep a key revoked elsewhere accepted for a day.
TEST_F(KeyServiceTest, RootKeyFreshnessIgnoresWallClockJumps) {
  RootKeyLookups node_a(store_.get()), node_b(store_.get());
  KeyService a(NodeOptions(&node_a));
  KeyService b(NodeOptions(&node_b));
  auto root = a.CreateRootKey("ops", actor_);
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(b.AuthenticateRootKey(root->secret).ok());
  clock_.JumpWall(3600'000);
  ASSERT_TRUE(b.AuthenticateRootKey(root->secret).ok());
  EXPECT_EQ(node_b.lookups, 1) << "a clock set forward aged the cached root key";
  // Revoked through node a; b's clock is then set back a day.
  ASSERT_TRUE(a.RevokeRootKey(root->record.id, actor_).ok());
  clock_.JumpWall(-86'400'000);
  clock_.Advance(999);
  EXPECT_TRUE(b.AuthenticateRootKey(root->secret).ok()) << "within its second, as always";
  EXPECT_EQ(node_b.lookups, 1);
  clock_.Advance(1);
  EXPECT_EQ(b.AuthenticateRootKey(root->secret).status().code(), Code::kUnauthorized)
      << "a clock set back kept a revoked root key fresh";
  EXPECT_EQ(node_b.lookups, 2);
}

TEST_F(KeyServiceTest, WhileTheStoreIsAwayOnlyRootKeysAcceptedBeforeAreAccepted) {
  RootKeyLookups node(store_.get());
  KeyServiceOptions o;
  o.format = &format_;
  o.clock = &clock_;
  o.store = &node;
  KeyService service(o);
  auto seen = service.CreateRootKey("seen", actor_);
  auto unseen = service.CreateRootKey("unseen", actor_);
  ASSERT_TRUE(seen.ok() && unseen.ok());
  ASSERT_TRUE(service.AuthenticateRootKey(seen->secret).ok());
  node.down = true;
  clock_.Advance(5000);
  EXPECT_TRUE(service.AuthenticateRootKey(seen->secret).ok());
  EXPECT_EQ(service.AuthenticateRootKey(unseen->secret).status().code(), Code::kUnavailable);
  // A guess is still a guess: never accepted, never "unauthorized" from a
  // store that cannot say.
  EXPECT_EQ(service.AuthenticateRootKey(service.root_format().Generate("root")).status().code(),
            Code::kUnavailable);
}

}  // namespace
}  // namespace keyward
