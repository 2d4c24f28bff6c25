#include "core/verifier.h"

#include <gtest/gtest.h>

#include <map>

#include "core/sha256.h"

namespace keyward {
namespace {

class MapResolver : public KeyResolver {
 public:
  Result<std::shared_ptr<const VerifiableKey>> Resolve(const KeyHash& hash) override {
    if (fail) return Status::Unavailable("down");
    auto it = keys.find(hash);
    if (it == keys.end()) return std::shared_ptr<const VerifiableKey>();
    return VerifiableKey::Compile(it->second);
  }
  std::map<KeyHash, ApiKey> keys;
  bool fail = false;
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

  Verifier MakeVerifier(std::vector<std::string> accept = {"live"}) {
    VerifierOptions o;
    o.format = &format_;
    o.accept_environments = std::move(accept);
    o.clock = &clock_;
    o.resolver = &resolver_;
    o.rate_limiter = &limiter_;
    return Verifier(o);
  }

  Code Check(const std::string& key, VerifyRequest req = {}) {
    req.key = key;
    return MakeVerifier().Verify(req).code;
  }

  KeyFormat format_;
  ManualClock clock_;
  MapResolver resolver_;
  MemoryRateLimiter limiter_;
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

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

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
