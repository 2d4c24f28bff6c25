#include "core/verifier.h"

#include <gtest/gtest.h>

#include <map>

#include "core/key_cache.h"
#include "core/sha256.h"

namespace keyward {
namespace {

class MapResolver : public KeyResolver {
 public:
  Result<KeyRef> Resolve(const KeyHash& hash) override {
    ++resolves;
    if (fail) return Status::Unavailable("down");
    auto it = keys.find(hash);
    if (it == keys.end()) return KeyRef();
    return VerifiableKey::Compile(it->second);
  }
  std::map<KeyHash, ApiKey> keys;
  bool fail = false;
  int resolves = 0;
};

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() : format_(std::move(KeyFormat::Create("sk", {"live", "test"})).value()) {}

  std::string AddKey(const std::function<void(ApiKey&)>& edit = nullptr, std::string env = "live") {
    const std::string secret = format_.Generate(env);
    ApiKey k;
    k.id = "key_" + std::to_string(resolver_.keys.size());
    k.hash = Sha256(secret);
    k.workspace_id = "ws_1";
    k.environment = env;
    k.name = "n";
    k.scopes = {"products:read"};
    if (edit) edit(k);
    resolver_.keys[k.hash] = k;
    return secret;
  }

  // resolver: null for resolver_ itself; a KeyCache over it, as serve builds it.
  Verifier MakeVerifier(std::vector<std::string> accept = {"live"},
                        KeyResolver* resolver = nullptr) {
    VerifierOptions o;
    o.format = &format_;
    o.accept_environments = std::move(accept);
    o.clock = &clock_;
    o.resolver = resolver != nullptr ? resolver : &resolver_;
    o.rate_limiter = &limiter_;
    return Verifier(o);
  }

  // A verifier on clock; with failure_limit, a failure budget per address.
  Verifier MakeVerifierOn(const Clock* clock,
                          std::optional<RateLimit> failure_limit = std::nullopt) {
    VerifierOptions o;
    o.format = &format_;
    o.accept_environments = {"live"};
    o.clock = clock;
    o.resolver = &resolver_;
    o.rate_limiter = &limiter_;
    if (failure_limit) {
      o.failure_limiter = &failures_;
      o.failure_limit = *failure_limit;
    }
    return Verifier(o);
  }

  // key with its last checksum character changed: the same shape, a bad CRC.
  static std::string WithBadChecksum(std::string key) {
    key.back() = key.back() == 'a' ? 'b' : 'a';
    return key;
  }

  Code Check(const std::string& key, VerifyRequest req = {}) {
    req.key = key;
    return MakeVerifier().Verify(req).code;
  }

  KeyFormat format_;
  ManualClock clock_;
  MapResolver resolver_;
  MemoryRateLimiter limiter_;
  MemoryRateLimiter failures_;
};

TEST_F(VerifierTest, ValidKeyAnswersValidWithTheRecord) {
  const std::string key = AddKey();
  VerifyRequest req;
  req.key = key;
  auto r = MakeVerifier().Verify(req);
  EXPECT_EQ(r.code, Code::kValid);
  ASSERT_TRUE(r.key);
  EXPECT_EQ(r.key->workspace_id(), "ws_1");
}

TEST_F(VerifierTest, MissingMalformedInvalid) {
  EXPECT_EQ(Check(""), Code::kMissing);
  EXPECT_EQ(Check("sk_live_short"), Code::kMalformed);
  EXPECT_EQ(Check("Bearer whatever"), Code::kMalformed);
  EXPECT_EQ(Check(format_.Generate("live")), Code::kInvalid);  // well-formed, unknown
}

TEST_F(VerifierTest, StorageFailureIsNotValid) {
  const std::string key = AddKey();
  resolver_.fail = true;
  EXPECT_EQ(Check(key), Code::kUnavailable);
}

TEST_F(VerifierTest, RevokedExpiredDisabled) {
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) { k.revoked_at = clock_.Now() - 1; })), Code::kRevoked);
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) { k.expires_at = clock_.Now(); })), Code::kExpired);
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) { k.expires_at = clock_.Now() + 1; })), Code::kValid);
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) { k.disabled = true; })), Code::kDisabled);
}

TEST_F(VerifierTest, ChecksRunInTheDesignedOrder) {
  // A key that fails everything answers the first check: revoked.
  auto all_bad = [&](ApiKey& k) {
    k.revoked_at = clock_.Now();
    k.expires_at = clock_.Now();
    k.disabled = true;
    k.ip_allowlist = {"10.0.0.0/8"};
  };
  EXPECT_EQ(Check(AddKey(all_bad, "test")), Code::kRevoked);
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) {
              k.expires_at = clock_.Now();
              k.disabled = true;
            })),
            Code::kExpired);
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) { k.disabled = true; }, "test")), Code::kDisabled);
  VerifyRequest req;
  req.ip = "192.168.0.1";
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) { k.ip_allowlist = {"10.0.0.0/8"}; }, "test"), req),
            Code::kWrongEnvironment);
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) {
                    k.ip_allowlist = {"10.0.0.0/8"};
                    k.referrer_allowlist = {"example.com"};
                  }),
                  req),
            Code::kIpNotAllowed);
  req.ip = "10.1.1.1";
  req.method = "GET";
  req.path = "/v2/x";
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) {
                    k.referrer_allowlist = {"example.com"};
                    k.endpoint_allowlist = {"GET /v1/*"};
                  }),
                  req),
            Code::kReferrerNotAllowed);
  std::vector<std::string> need = {"orders:write"};
  req.scopes = need;
  EXPECT_EQ(Check(AddKey([&](ApiKey& k) { k.endpoint_allowlist = {"GET /v1/*"}; }), req),
            Code::kEndpointNotAllowed);
  EXPECT_EQ(Check(AddKey(), req), Code::kInsufficientScope);
}

TEST_F(VerifierTest, EnvironmentSeparation) {
  const std::string test_key = AddKey(nullptr, "test");
  VerifyRequest req;
  req.key = test_key;
  EXPECT_EQ(MakeVerifier({"live"}).Verify(req).code, Code::kWrongEnvironment);
  EXPECT_EQ(MakeVerifier({"live", "test"}).Verify(req).code, Code::kValid);
  req.environment = "live";
  EXPECT_EQ(MakeVerifier({"live", "test"}).Verify(req).code, Code::kWrongEnvironment);
}

TEST_F(VerifierTest, IpAllowList) {
  const std::string key = AddKey([](ApiKey& k) {
    k.ip_allowlist = {"10.0.0.0/8", "2001:db8::/32"};
  });
  VerifyRequest req;
  EXPECT_EQ(Check(key, req), Code::kIpNotAllowed);  // no address at all
  req.ip = "10.2.3.4";
  EXPECT_EQ(Check(key, req), Code::kValid);
  req.ip = "2001:db8::7";
  EXPECT_EQ(Check(key, req), Code::kValid);
  req.ip = "11.0.0.1";
  EXPECT_EQ(Check(key, req), Code::kIpNotAllowed);
  req.ip = "garbage";
  EXPECT_EQ(Check(key, req), Code::kIpNotAllowed);
}

TEST_F(VerifierTest, UnparsableStoredEntriesNeverWidenAccess) {
  const std::string key = AddKey([](ApiKey& k) { k.ip_allowlist = {"not-an-ip"}; });
  VerifyRequest req;
  req.ip = "10.0.0.1";
  EXPECT_EQ(Check(key, req), Code::kIpNotAllowed);
}

TEST_F(VerifierTest, Scopes) {
  const std::string key = AddKey([](ApiKey& k) { k.scopes = {"orders:*", "products:read"}; });
  VerifyRequest req;
  std::vector<std::string> need = {"orders:write", "products:read"};
  req.scopes = need;
  EXPECT_EQ(Check(key, req), Code::kValid);
  std::vector<std::string> more = {"products:write"};
  req.scopes = more;
  EXPECT_EQ(Check(key, req), Code::kInsufficientScope);
  EXPECT_TRUE(ScopeGrants("*", "anything"));
  EXPECT_FALSE(ScopeGrants("orders:*", "orders:"));
  EXPECT_FALSE(ScopeGrants("orders:*", "ordersx"));
  EXPECT_FALSE(ScopeGrants("orders", "orders:read"));
}

TEST_F(VerifierTest, RateLimitAnswersRateLimitedAndCarriesState) {
  const std::string key = AddKey([](ApiKey& k) { k.rate_limit = RateLimit{2, 60}; });
  Verifier v = MakeVerifier();
  VerifyRequest req;
  req.key = key;
  auto a = v.Verify(req);
  ASSERT_EQ(a.code, Code::kValid);
  ASSERT_TRUE(a.ratelimit);
  EXPECT_EQ(a.ratelimit->remaining, 1);
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
  auto c = v.Verify(req);
  EXPECT_EQ(c.code, Code::kRateLimited);
  EXPECT_GT(c.ratelimit->retry_after_seconds, 0);
  clock_.Advance(30'000);
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
}

TEST_F(VerifierTest, FailedChecksDoNotConsumeRateLimit) {
  const std::string key = AddKey([](ApiKey& k) {
    k.rate_limit = RateLimit{1, 60};
    k.ip_allowlist = {"10.0.0.0/8"};
  });
  Verifier v = MakeVerifier();
  VerifyRequest req;
  req.key = key;
  req.ip = "11.0.0.1";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(v.Verify(req).code, Code::kIpNotAllowed);
  req.ip = "10.0.0.1";
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
}

constexpr Timestamp kHour = 3600 * kMillisPerSecond;
constexpr Timestamp kDay = 24 * kHour;

// Rate limits run on monotonic time: a wall clock set a day forward frees no
// key, and one set a day back locks none out for a day.
TEST_F(VerifierTest, RateLimitsIgnoreWallClockJumps) {
  const std::string key = AddKey([](ApiKey& k) { k.rate_limit = RateLimit{3, 60}; });
  Verifier v = MakeVerifierOn(&clock_);
  VerifyRequest req;
  req.key = key;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(v.Verify(req).code, Code::kValid);
  ASSERT_EQ(v.Verify(req).code, Code::kRateLimited);
  const Timestamp t0 = clock_.Now();
  clock_.Set(t0 + kDay);
  const VerifyResult forward = v.Verify(req);
  EXPECT_EQ(forward.code, Code::kRateLimited) << "a clock set forward refilled the bucket";
  clock_.Set(t0 - kDay);
  const VerifyResult back = v.Verify(req);
  EXPECT_EQ(back.code, Code::kRateLimited);
  ASSERT_TRUE(back.ratelimit);
  EXPECT_LE(back.ratelimit->retry_after_seconds, 20) << "a clock set back stretched the wait";
  clock_.Advance(60'000);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(v.Verify(req).code, Code::kValid) << i;
  EXPECT_EQ(v.Verify(req).code, Code::kRateLimited);
}

TEST_F(VerifierTest, FailureBudgetIgnoresWallClockJumps) {
  const std::string good = AddKey();
  Verifier v = MakeVerifierOn(&clock_, RateLimit{3, 60});
  VerifyRequest bad;
  const std::string unknown = format_.Generate("live");
  bad.key = unknown;
  bad.ip = "10.1.2.3";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(v.Verify(bad).code, Code::kInvalid);
  VerifyRequest req;
  req.key = good;
  req.ip = "10.1.2.3";
  ASSERT_EQ(v.Verify(req).code, Code::kRateLimited);
  const Timestamp t0 = clock_.Now();
  clock_.Set(t0 + kDay);
  EXPECT_EQ(v.Verify(req).code, Code::kRateLimited) << "a clock set forward refilled the budget";
  EXPECT_TRUE(v.FailureLimited("10.1.2.3"));
  clock_.Set(t0 - kDay);
  EXPECT_EQ(v.Verify(req).code, Code::kRateLimited);
  clock_.Advance(60'000);
  EXPECT_FALSE(v.FailureLimited("10.1.2.3")) << "a clock set back stretched the wait";
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
}

// Failures counted outside Verify (root keys, portal links) spend the same
// budget on the same (monotonic) clock as Verify.
TEST_F(VerifierTest, FailuresRecordedOutsideVerifyShareItsClock) {
  const std::string good = AddKey();
  Verifier v = MakeVerifierOn(&clock_, RateLimit{3, 60});
  for (int i = 0; i < 3; ++i) v.RecordFailure("10.1.2.3");
  VerifyRequest req;
  req.key = good;
  req.ip = "10.1.2.3";
  EXPECT_EQ(v.Verify(req).code, Code::kRateLimited);
  EXPECT_TRUE(v.FailureLimited("10.1.2.3"));
  clock_.Advance(60'000);
  EXPECT_FALSE(v.FailureLimited("10.1.2.3"));
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
}

// Expiry is on wall time, behind a NonDecreasingClock as App has it: a
// clock set back revives no expired key, and expires no key early (a later
// expiry comes late by the size of the jump, until the clock is set right).
TEST_F(VerifierTest, AClockSetBackRevivesNoExpiredKey) {
  NonDecreasingClock wall(&clock_);
  Verifier v = MakeVerifierOn(&wall);
  auto code = [&](const std::string& key) {
    VerifyRequest req;
    req.key = key;
    return v.Verify(req).code;
  };
  const Timestamp t0 = clock_.Now();
  const std::string soon = AddKey([&](ApiKey& k) { k.expires_at = t0 + 1000; });
  const std::string later = AddKey([&](ApiKey& k) { k.expires_at = t0 + 2 * kHour; });
  EXPECT_EQ(code(soon), Code::kValid);
  clock_.Advance(1000);
  EXPECT_EQ(code(soon), Code::kExpired);
  EXPECT_EQ(code(later), Code::kValid);
  clock_.JumpWall(-kHour);
  EXPECT_EQ(code(soon), Code::kExpired) << "a clock set back revived an expired key";
  EXPECT_EQ(code(later), Code::kValid);
  // On the bare clock it would have come back: why App wraps its clock.
  EXPECT_EQ(Check(soon), Code::kValid);
  // Wall time holds at t0 + 1 s until the clock catches up an hour later,
  // then moves again: `later` expires at its wall time, an hour late.
  clock_.Advance(kHour);
  EXPECT_EQ(clock_.Now(), t0 + 1000);
  EXPECT_EQ(code(soon), Code::kExpired);
  clock_.Advance(2 * kHour - 1000 - 1);
  EXPECT_EQ(code(later), Code::kValid);
  clock_.Advance(1);
  EXPECT_EQ(code(later), Code::kExpired);
}

// A clock set forward expires the keys whose expiry falls inside the jump,
// and setting it right again does not bring them back in this process. The
// mark is the process's: after a restart such a key verifies again until
// its own expiry.
TEST_F(VerifierTest, AClockSetForwardExpiresEarlyAndSettingItRightKeepsThat) {
  NonDecreasingClock wall(&clock_);
  Verifier v = MakeVerifierOn(&wall);
  const Timestamp t0 = clock_.Now();
  const std::string key = AddKey([&](ApiKey& k) { k.expires_at = t0 + kHour; });
  VerifyRequest req;
  req.key = key;
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
  clock_.JumpWall(kDay);
  EXPECT_EQ(v.Verify(req).code, Code::kExpired);
  clock_.Set(t0);
  EXPECT_EQ(v.Verify(req).code, Code::kExpired) << "setting the clock right revived the key";
  NonDecreasingClock restarted(&clock_);
  Verifier after_restart = MakeVerifierOn(&restarted);
  EXPECT_EQ(after_restart.Verify(req).code, Code::kValid);
  clock_.Advance(kHour);
  EXPECT_EQ(after_restart.Verify(req).code, Code::kExpired);
}

// A cache hit skips the CRC only for a key whose checksum was once seen to
// hold: the answers are those of the full parse in every case.
TEST_F(VerifierTest, ACachedKeyIsTrustedWithoutItsChecksumOnlyOnceItHeld) {
  const std::string key = AddKey();
  KeyCache cache(&resolver_, 100);
  Verifier v = MakeVerifier({"live"}, &cache);
  VerifyRequest req;
  req.key = key;
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
  EXPECT_EQ(resolver_.resolves, 1);
  auto r = v.Verify(req);  // from the cache now
  EXPECT_EQ(r.code, Code::kValid);
  ASSERT_TRUE(r.key);
  EXPECT_TRUE(r.key->checksum_known());
  EXPECT_EQ(resolver_.resolves, 1);
  // A typo fails its checksum before storage is asked.
  const std::string typo = WithBadChecksum(key);
  req.key = typo;
  r = v.Verify(req);
  EXPECT_EQ(r.code, Code::kMalformed);
  EXPECT_EQ(r.parse_error, KeyParseError::kBadChecksum);
  EXPECT_EQ(resolver_.resolves, 1);
}

// A key of the deployment's shape whose checksum is wrong never verifies,
// even when its hash was imported and its record is in the cache before it
// is ever presented: its record's checksum is unknown, so the CRC is checked.
TEST_F(VerifierTest, AKeyWithABadChecksumStaysMalformedFromTheCache) {
  const std::string bad = WithBadChecksum(format_.Generate("live"));
  ApiKey k;
  k.id = "key_imported";
  k.hash = Sha256(bad);
  k.workspace_id = "ws_1";
  k.environment = "live";
  resolver_.keys[k.hash] = k;
  KeyCache cache(&resolver_, 100);
  ASSERT_TRUE(cache.Resolve(k.hash).ok());  // in the cache, never verified
  Verifier v = MakeVerifier({"live"}, &cache);
  VerifyRequest req;
  req.key = bad;
  for (int i = 0; i < 3; ++i) {
    const auto r = v.Verify(req);
    EXPECT_EQ(r.code, Code::kMalformed) << i;
    EXPECT_EQ(r.parse_error, KeyParseError::kBadChecksum) << i;
  }
  EXPECT_EQ(resolver_.resolves, 1) << "only the prefill asked storage";
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

// Keys imported from another system, of the shape amser's docs show.
class LegacyVerifierTest : public VerifierTest {
 protected:
  LegacyVerifierTest() {
    format_ = std::move(KeyFormat::Create("sk", {"live", "test"},
                                          {{"^amsr_(live|test)_[a-z0-9]{21}$", "$1", 12}}))
                  .value();
  }
  void Import(const std::string& secret, const std::string& env) {
    ApiKey k;
    k.id = "key_legacy" + std::to_string(resolver_.keys.size());
    k.hash = Sha256(secret);
    k.workspace_id = "ws_1";
    k.environment = env;
    resolver_.keys[k.hash] = k;
  }
};

TEST_F(LegacyVerifierTest, AnImportedKeyVerifiesAndANativeOneStillDoes) {
  Import("amsr_live_k3m7x9p2q4r8s1t5v0w6y", "live");
  EXPECT_EQ(Check("amsr_live_k3m7x9p2q4r8s1t5v0w6y"), Code::kValid);
  EXPECT_EQ(Check(AddKey()), Code::kValid);
  // One character off: the hash lookup, not the shape, decides.
  EXPECT_EQ(Check("amsr_live_k3m7x9p2q4r8s1t5v0w6z"), Code::kInvalid);
  // Of no shape at all.
  EXPECT_EQ(Check("amsr_live_k3m7x9p2q4r8s1t5v0w6"), Code::kMalformed);
  EXPECT_EQ(Check("amsr_live_K3M7X9P2Q4R8S1T5V0W6Y"), Code::kMalformed);
}

TEST_F(LegacyVerifierTest, AnUnknownKeyOfALegacyShapeIsInvalidAndSpendsTheFailureBudget) {
  // Shape alone never authenticates: nothing was imported.
  ManualClock clock;
  Verifier v = MakeVerifierOn(&clock, RateLimit{3, 60});
  VerifyRequest req;
  req.ip = "203.0.113.9";
  const char* guesses[] = {"amsr_live_aaaaaaaaaaaaaaaaaaaaa", "amsr_live_aaaaaaaaaaaaaaaaaaaab",
                           "amsr_live_aaaaaaaaaaaaaaaaaaaac"};
  for (const char* guess : guesses) {
    req.key = guess;
    EXPECT_EQ(v.Verify(req).code, Code::kInvalid) << guess;
  }
  // Past the budget, refused before any lookup, exactly as a native guess.
  Import("amsr_live_aaaaaaaaaaaaaaaaaaaad", "live");
  req.key = "amsr_live_aaaaaaaaaaaaaaaaaaaad";
  EXPECT_EQ(v.Verify(req).code, Code::kRateLimited);
}

// A legacy shape that also covers the deployment's own: a key of that shape
// with a bad checksum is a legacy key, from storage and from the cache alike.
TEST_F(LegacyVerifierTest, AKeyOfTheOwnShapeWithABadChecksumCanStillBeALegacyOne) {
  format_ = std::move(KeyFormat::Create("sk", {"live", "test"},
                                        {{"^sk_(live|test)_[A-Za-z0-9]{40}$", "$1", 12}}))
                .value();
  const std::string legacy = WithBadChecksum(format_.Generate("live"));
  Import(legacy, "live");
  KeyCache cache(&resolver_, 100);
  Verifier v = MakeVerifier({"live"}, &cache);
  VerifyRequest req;
  req.key = legacy;
  EXPECT_EQ(v.Verify(req).code, Code::kValid);
  auto r = v.Verify(req);
  EXPECT_EQ(r.code, Code::kValid);
  ASSERT_TRUE(r.key);
  EXPECT_FALSE(r.key->checksum_known());
  EXPECT_EQ(resolver_.resolves, 1);
}

TEST_F(LegacyVerifierTest, ALegacyTestKeyNeverAuthenticatesOnALiveDeployment) {
  Import("amsr_test_a1b2c3d4e5f6g7h8i9j0k", "test");
  EXPECT_EQ(Check("amsr_test_a1b2c3d4e5f6g7h8i9j0k"), Code::kWrongEnvironment);
  VerifyRequest req;
  req.key = "amsr_test_a1b2c3d4e5f6g7h8i9j0k";
  EXPECT_EQ(MakeVerifier({"live", "test"}).Verify(req).code, Code::kValid);
  // A key whose shape says live but that was imported as test: its text
  // and its record disagree, and neither deployment lets it pass as live.
  Import("amsr_live_zzzzzzzzzzzzzzzzzzzzz", "test");
  req.key = "amsr_live_zzzzzzzzzzzzzzzzzzzzz";
  EXPECT_EQ(MakeVerifier({"live", "test"}).Verify(req).code, Code::kWrongEnvironment);
  // The same for a native key imported by hash under the wrong environment:
  // a test key never passes for live on a live-only deployment.
  const std::string native_test = format_.Generate("test");
  Import(native_test, "live");
  EXPECT_EQ(Check(native_test), Code::kWrongEnvironment);
}

TEST(VerifiableKeyTest, KeepsWhatVerificationAnswersWith) {
  ApiKey k;
  k.id = "key_0123456789abcdefghij";
  k.workspace_id = "ws_0123456789abcdefghij";
  k.environment = "live";
  k.name = "checkout service";
  k.short_prefix = "asa_live_Tq0x4k9Pd8Mn";
  k.meta_json = R"({"team":"payments"})";
  k.scopes = {"orders:*", "products:read"};
  k.expires_at = 1234;
  k.rate_limit = RateLimit{10, 60};
  k.hash = Sha256("x");
  auto v = VerifiableKey::Compile(k);
  EXPECT_EQ(v->id(), k.id);
  EXPECT_EQ(v->workspace_id(), k.workspace_id);
  EXPECT_EQ(v->environment(), "live");
  EXPECT_EQ(v->name(), "checkout service");
  EXPECT_EQ(v->short_prefix(), k.short_prefix);
  EXPECT_EQ(v->meta_json(), k.meta_json);
  EXPECT_EQ(v->scopes(), k.scopes);
  EXPECT_TRUE(v->Grants("orders:write"));
  EXPECT_TRUE(v->Grants("products:read"));
  EXPECT_FALSE(v->Grants("products:write"));
  EXPECT_EQ(v->expires_at(), 1234);
  EXPECT_EQ(v->rate_limit(), (RateLimit{10, 60}));
  EXPECT_FALSE(v->revoked());
  EXPECT_EQ(v->restrictions(), nullptr);
  k.scopes.clear();
  k.expires_at.reset();
  k.rate_limit.reset();
  k.revoked_at = 5;
  k.ip_allowlist = {"10.0.0.0/8"};
  auto w = VerifiableKey::Compile(k);
  EXPECT_TRUE(w->scopes().empty());
  EXPECT_FALSE(w->Grants("anything"));
  EXPECT_FALSE(w->expires_at());
  EXPECT_FALSE(w->rate_limit());
  EXPECT_TRUE(w->revoked());
  ASSERT_NE(w->restrictions(), nullptr);
  EXPECT_TRUE(w->restrictions()->ip_restricted);
}

TEST(VerifiableKeyTest, ARecordTooLargeToPackIsNotTrusted) {
  ApiKey k;
  k.id = "key_big";
  k.meta_json = "{\"x\":\"" + std::string(70000, 'a') + "\"}";
  EXPECT_TRUE(VerifiableKey::Compile(k)->revoked());
}

}  // namespace
}  // namespace keyward
