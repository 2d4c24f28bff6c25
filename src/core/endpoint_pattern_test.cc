#include "core/endpoint_pattern.h"

#include <gtest/gtest.h>

#include "core/glob.h"

namespace keyward {
namespace {

bool Allows(const char* pattern, const char* method, const char* target) {
  auto p = EndpointPattern::Parse(pattern);
  return p.ok() && p->Matches(method, NormalizeRequestPath(target));
}

TEST(EndpointPatternTest, MethodAndSingleSegmentStar) {
  EXPECT_TRUE(Allows("GET /v1/products/*", "GET", "/v1/products/B09HN3Q81F"));
  EXPECT_FALSE(Allows("GET /v1/products/*", "POST", "/v1/products/B09HN3Q81F"));
  EXPECT_FALSE(Allows("GET /v1/products/*", "GET", "/v1/products/a/reviews"));
  EXPECT_FALSE(Allows("GET /v1/products/*", "GET", "/v1/orders/1"));
  EXPECT_TRUE(Allows("GET /v1/products/*", "GET", "/v1/products/1?page=2"));
}

TEST(EndpointPatternTest, DoubleStarCrossesSegments) {
  EXPECT_TRUE(Allows("GET /v1/**", "GET", "/v1/products/a/reviews"));
  EXPECT_TRUE(Allows("* /v1/**", "DELETE", "/v1/x"));
  EXPECT_TRUE(Allows("/v1/**", "PATCH", "/v1/x/y"));
  EXPECT_FALSE(Allows("/v1/**", "GET", "/v2/x"));
}

TEST(EndpointPatternTest, MethodLists) {
  EXPECT_TRUE(Allows("GET,POST /v1/orders", "POST", "/v1/orders"));
  EXPECT_FALSE(Allows("GET,POST /v1/orders", "DELETE", "/v1/orders"));
}

TEST(EndpointPatternTest, DotSegmentsCannotEscape) {
  EXPECT_FALSE(Allows("GET /v1/products/**", "GET", "/v1/products/../admin"));
  EXPECT_FALSE(Allows("GET /v1/products/**", "GET", "/v1/products/%2e%2e/admin"));
  EXPECT_FALSE(Allows("GET /v1/products/**", "GET", "/v1/products/%2E%2E/%2e%2E/admin"));
  EXPECT_TRUE(Allows("GET /v1/products/**", "GET", "/v1/./products/x"));
}

TEST(EndpointPatternTest, NormalizeRequestPath) {
  EXPECT_EQ(NormalizeRequestPath("/a/./b/../c?x=1"), "/a/c");
  EXPECT_EQ(NormalizeRequestPath("/a/b/"), "/a/b/");
  EXPECT_EQ(NormalizeRequestPath("/../../x"), "/x");
  EXPECT_EQ(NormalizeRequestPath(""), "/");
  EXPECT_EQ(NormalizeRequestPath("/a/%7Euser"), "/a/~user");
  // An encoded slash or a backslash separates segments like "/": "..%2F"
  // cannot hide a dot segment from keyward and show it to a back end that
  // decodes before it resolves.
  EXPECT_EQ(NormalizeRequestPath("/a%2Fb"), "/a/b");
  EXPECT_EQ(NormalizeRequestPath("/v1/products/..%2F..%2Fadmin"), "/admin");
  EXPECT_EQ(NormalizeRequestPath("/v1/products/..%5c..\\admin"), "/admin");
  EXPECT_EQ(NormalizeRequestPath("https://api.example.com/v1/x?q"), "/v1/x");
  EXPECT_EQ(NormalizeRequestPath("/a/b/.."), "/a/");
}

TEST(EndpointPatternTest, RefusesBadPatterns) {
  for (const char* bad :
       {"", "GET", "GET v1/x", "get /v1/x", "GET  /v1", "GET /v1/x?y", "G3T /x", "GET, /x"}) {
    EXPECT_FALSE(EndpointPattern::Parse(bad).ok()) << bad;
  }
}

TEST(EndpointPatternTest, RoundTrip) {
  EXPECT_EQ(EndpointPattern::Parse("GET /v1/products/*")->ToString(), "GET /v1/products/*");
  EXPECT_EQ(EndpointPattern::Parse("/v1/x")->ToString(), "* /v1/x");
}

TEST(GlobTest, Basics) {
  EXPECT_TRUE(GlobMatch("a*c", "abc", '\0'));
  EXPECT_TRUE(GlobMatch("a*c", "ac", '\0'));
  EXPECT_FALSE(GlobMatch("a*c", "ab", '\0'));
  EXPECT_TRUE(GlobMatch("*", "", '/'));
  EXPECT_FALSE(GlobMatch("/a/*", "/a/b/c", '/'));
  EXPECT_TRUE(GlobMatch("/a/**", "/a/b/c", '/'));
  EXPECT_TRUE(GlobMatch("/a/*/c", "/a/b/c", '/'));
}

TEST(GlobTest, NoExponentialBlowUp) {
  // A classic backtracking killer; dynamic programming answers at once.
  const std::string pattern = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
  const std::string text(5000, 'a');
  EXPECT_FALSE(GlobMatch(pattern, text, '\0'));
}

// Found by the endpoint-pattern fuzzer: "%4%411" normalised to "/%4A1",
// which a second pass read as "/J1". A normalised path is final.
TEST(EndpointPatternTest, NormalisingIsFinal) {
  EXPECT_EQ(NormalizeRequestPath("/%4%411"), "/%254A1");
  EXPECT_EQ(NormalizeRequestPath(NormalizeRequestPath("/%4%411")), "/%254A1");
  EXPECT_EQ(NormalizeRequestPath("/a%"), "/a%25");
  EXPECT_EQ(NormalizeRequestPath("/a%2"), "/a%252");
  EXPECT_EQ(NormalizeRequestPath("/%2%45%2%45/admin"), "/%252E%252E/admin");
  EXPECT_EQ(NormalizeRequestPath("/a%3Fb/%41"), "/a%3Fb/A");  // reserved stays escaped
  auto p = EndpointPattern::Parse("GET /v1/products/**");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->Matches("GET", NormalizeRequestPath("/v1/products/%2%45%2%45/../../admin")));
}

// Found in review: patterns were kept as written while requests were
// normalised, so "/promo/100%" (now "/promo/100%25") and "/a/%41" (now
// "/a/A") matched nothing. A pattern's path is normalised like a request's.
TEST(EndpointPatternTest, PatternsAreNormalisedLikeRequests) {
  auto percent = EndpointPattern::Parse("GET /promo/100%");
  ASSERT_TRUE(percent.ok());
  EXPECT_TRUE(percent->Matches("GET", NormalizeRequestPath("/promo/100%")));
  auto escaped = EndpointPattern::Parse("/a/%41/*");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->ToString(), "* /a/A/*");
  EXPECT_TRUE(escaped->Matches("GET", NormalizeRequestPath("/a/A/x")));
  EXPECT_TRUE(escaped->Matches("GET", NormalizeRequestPath("/a/%41/x")));
  auto products = EndpointPattern::Parse("GET /v1/products/**");
  ASSERT_TRUE(products.ok());
  EXPECT_FALSE(products->Matches("GET", NormalizeRequestPath("/v1/products/..%2F..%2Fadmin")));
}

}  // namespace
}  // namespace keyward
