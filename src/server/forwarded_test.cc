#include "server/forwarded.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

namespace http = boost::beast::http;

ForwardedRequest Request(std::initializer_list<std::pair<const char*, const char*>> headers,
                         const char* target = "/v1/auth") {
  ForwardedRequest req{http::verb::get, target, 11};
  for (const auto& [name, value] : headers) req.insert(name, value);
  return req;
}

TrustedProxies Nginx() { return TrustedProxies({*CidrBlock::Parse("127.0.0.1/32")}); }

std::string Client(const ForwardedRequest& req, const char* peer) {
  auto ip = ClientAddress(req, peer, Nginx());
  return ip.ok() ? *ip : "error: " + ip.status().message();
}

// Issue 9, finding 1: X-Real-IP was believed from any caller.
TEST(ForwardedTest, HeadersCountOnlyFromATrustedPeer) {
  const auto forged = Request({{"X-Real-IP", "10.1.2.3"}, {"X-Forwarded-For", "10.1.2.3"}});
  EXPECT_EQ(Client(forged, "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(Client(forged, "127.0.0.5"), "127.0.0.5");
  EXPECT_EQ(Client(forged, "127.0.0.1"), "10.1.2.3");
}

TEST(ForwardedTest, TheClientIsTheRightMostUntrustedHop) {
  TrustedProxies two({*CidrBlock::Parse("127.0.0.1/32"), *CidrBlock::Parse("10.9.0.0/16")});
  const auto req = Request({{"X-Forwarded-For", "10.1.2.3, 203.0.113.7, 10.9.0.4"}});
  EXPECT_EQ(*ClientAddress(req, "127.0.0.1", two), "203.0.113.7");
  // Repeated header lines are one list, in order.
  const auto split = Request({{"X-Forwarded-For", "10.1.2.3"}, {"X-Forwarded-For", "10.9.0.4"}});
  EXPECT_EQ(*ClientAddress(split, "127.0.0.1", two), "10.1.2.3");
  // Every hop trusted: the left-most.
  const auto all = Request({{"X-Forwarded-For", "10.9.0.5, 10.9.0.4"}});
  EXPECT_EQ(*ClientAddress(all, "127.0.0.1", two), "10.9.0.5");
}

TEST(ForwardedTest, AddressesAreCanonicalAndGarbageIsRefused) {
  EXPECT_EQ(Client(Request({{"X-Real-IP", "::ffff:10.1.2.3"}}), "127.0.0.1"), "10.1.2.3");
  EXPECT_EQ(Client(Request({{"X-Real-IP", "[2001:DB8::1]"}}), "127.0.0.1"), "2001:db8::1");
  for (const char* bad : {"010.1.2.3", "10.1.2", "garbage", "10.1.2.3:80", "fe80::1%eth0", ""}) {
    EXPECT_EQ(Client(Request({{"X-Real-IP", bad}}), "127.0.0.1").substr(0, 6), "error:") << bad;
    EXPECT_EQ(Client(Request({{"X-Forwarded-For", bad}}), "127.0.0.1").substr(0, 6), "error:")
        << bad;
  }
  EXPECT_EQ(Client(Request({}), "::ffff:127.0.0.1"), "127.0.0.1");
}

// A client adding the header its gateway does not set must not win.
TEST(ForwardedTest, ConflictingAddressesAreRefused) {
  EXPECT_EQ(
      Client(Request({{"X-Real-IP", "10.1.2.3"}, {"X-Forwarded-For", "203.0.113.7"}}), "127.0.0.1")
          .substr(0, 6),
      "error:");
  EXPECT_EQ(Client(Request({{"X-Real-IP", "10.1.2.3"}, {"X-Real-IP", "10.1.2.4"}}), "127.0.0.1")
                .substr(0, 6),
            "error:");
  EXPECT_EQ(
      Client(Request({{"X-Real-IP", "203.0.113.7"}, {"X-Forwarded-For", "10.1.2.3, 203.0.113.7"}}),
             "127.0.0.1"),
      "203.0.113.7");
}

// Issue 9, finding 2: X-Forwarded-Uri/-Method won over the X-Original-*
// that nginx sets.
TEST(ForwardedTest, ConflictingMethodsOrUrisAreRefused) {
  auto facts = [](ForwardedRequest req, std::string_view envoy = {}) {
    return GatewayFacts(req, "127.0.0.1", envoy, Nginx());
  };
  auto forged = facts(Request({{"X-Original-URI", "/v1/admin"},
                               {"X-Original-Method", "DELETE"},
                               {"X-Forwarded-Uri", "/v1/products/1"},
                               {"X-Forwarded-Method", "GET"}}));
  EXPECT_EQ(forged.status().code(), Code::kInvalidRequest);
  EXPECT_EQ(facts(Request({{"X-Original-URI", "/a"}, {"X-Forwarded-Uri", "/b"}})).status().code(),
            Code::kInvalidRequest);
  EXPECT_EQ(facts(Request({{"X-Forwarded-Uri", "/b"}}), "/a").status().code(),
            Code::kInvalidRequest);
  EXPECT_EQ(facts(Request({{"X-Original-URI", "/a"}, {"X-Original-URI", "/b"}})).status().code(),
            Code::kInvalidRequest);
  auto agreed = facts(Request(
      {{"X-Original-URI", "/a?x"}, {"X-Forwarded-Uri", "/a?x"}, {"X-Original-Method", "POST"}}));
  ASSERT_TRUE(agreed.ok());
  EXPECT_EQ(agreed->uri, "/a?x");
  EXPECT_EQ(agreed->method, "POST");
  auto envoy = facts(Request({}), "/v1/products/1");
  ASSERT_TRUE(envoy.ok());
  EXPECT_EQ(envoy->uri, "/v1/products/1");
  EXPECT_EQ(envoy->method, "GET");
}

TEST(ForwardedTest, AnUntrustedPeerSpeaksForItselfOnly) {
  auto facts = GatewayFacts(Request({{"X-Forwarded-Uri", "/v1/products/1"},
                                     {"X-Forwarded-Method", "GET"},
                                     {"X-Real-IP", "10.1.2.3"}},
                                    "/v1/auth/v1/x"),
                            "203.0.113.9", "/v1/x", Nginx());
  ASSERT_TRUE(facts.ok());
  EXPECT_FALSE(facts->forwarded);
  EXPECT_EQ(facts->client_ip, "203.0.113.9");
  EXPECT_EQ(facts->uri, "/v1/auth/v1/x");
  EXPECT_EQ(facts->method, "GET");
}

}  // namespace
}  // namespace keyward
