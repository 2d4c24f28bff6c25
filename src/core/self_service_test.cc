#include "core/self_service.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

ApiKey Caller() {
  ApiKey k;
  k.id = "key_caller";
  k.ip_allowlist = {"10.0.0.0/8"};
  k.referrer_allowlist = {"*.example.com"};
  k.endpoint_allowlist = {"GET /v1/products/*"};
  k.expires_at = 1'000'000;
  k.rate_limit = RateLimit{100, 60};
  return k;
}

Code Check(const ApiKey& key, std::optional<RateLimit> def = std::nullopt) {
  return CheckWithinCaller(Caller(), key, def).code();
}

TEST(SelfServiceTest, AKeyAsRestrictedAsTheCallerPasses) {
  ApiKey k = Caller();
  EXPECT_EQ(Check(k), Code::kOk);
  k.ip_allowlist = {"10.1.0.0/16", "10.2.3.4/32"};
  k.referrer_allowlist = {"app.example.com", "https://shop.example.com/**"};
  k.endpoint_allowlist = {"GET /v1/products/1"};
  k.expires_at = 999'999;
  k.rate_limit = RateLimit{10, 60};
  EXPECT_EQ(Check(k), Code::kOk);
}

// Issue 9, finding 4: a restricted managing key created an unrestricted,
// never-expiring key. Each bound, on its own.
TEST(SelfServiceTest, EachWiderBoundIsForbidden) {
  auto with = [](auto change) {
    ApiKey k = Caller();
    change(k);
    return Check(k);
  };
  EXPECT_EQ(with([](ApiKey& k) { k.ip_allowlist.clear(); }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.ip_allowlist = {"0.0.0.0/0"}; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.ip_allowlist = {"10.0.0.0/7"}; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.ip_allowlist = {"10.0.0.0/8", "11.0.0.1"}; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.referrer_allowlist.clear(); }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.referrer_allowlist = {"evil.com"}; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.endpoint_allowlist.clear(); }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.endpoint_allowlist = {"GET /v1/**"}; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.endpoint_allowlist = {"* /v1/products/1"}; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.expires_at.reset(); }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.expires_at = 1'000'001; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.rate_limit.reset(); }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.rate_limit = RateLimit{101, 60}; }), Code::kForbidden);
  // Same burst, faster refill: 100 per 59 s is more than 100 per 60 s.
  EXPECT_EQ(with([](ApiKey& k) { k.rate_limit = RateLimit{100, 59}; }), Code::kForbidden);
  EXPECT_EQ(with([](ApiKey& k) { k.rate_limit = RateLimit{50, 30}; }), Code::kOk);
}

TEST(SelfServiceTest, TheMessageNamesTheBound) {
  ApiKey k = Caller();
  k.expires_at.reset();
  const Status st = CheckWithinCaller(Caller(), k, std::nullopt);
  EXPECT_NE(st.message().find("expires_at"), std::string::npos) << st.message();
}

TEST(SelfServiceTest, TheDefaultRateLimitBoundsKeysWithoutTheirOwn) {
  ApiKey caller;
  caller.id = "key_c";
  ApiKey k;
  // Neither has its own: both get the default, so the key is within.
  EXPECT_TRUE(CheckWithinCaller(caller, k, RateLimit{10, 60}).ok());
  k.rate_limit = RateLimit{20, 60};
  EXPECT_EQ(CheckWithinCaller(caller, k, RateLimit{10, 60}).code(), Code::kForbidden);
  // No default and no limit of its own: the caller is unlimited.
  EXPECT_TRUE(CheckWithinCaller(caller, k, std::nullopt).ok());
}

}  // namespace
}  // namespace keyward
