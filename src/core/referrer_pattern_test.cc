#include "core/referrer_pattern.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

bool Allows(const char* pattern, const char* referrer) {
  auto p = ReferrerPattern::Parse(pattern);
  return p.ok() && p->Matches(referrer);
}

TEST(ReferrerPatternTest, HostEntries) {
  EXPECT_TRUE(Allows("example.com", "https://example.com/page"));
  EXPECT_TRUE(Allows("example.com", "https://EXAMPLE.com:8443/page"));
  EXPECT_FALSE(Allows("example.com", "https://evil-example.com/"));
  EXPECT_FALSE(Allows("example.com", "https://app.example.com/"));
  EXPECT_TRUE(Allows("*.example.com", "https://app.example.com/"));
  EXPECT_FALSE(Allows("*.example.com", "https://example.com/"));
  EXPECT_FALSE(Allows("*.example.com", "https://example.com.evil.net/"));
  EXPECT_FALSE(Allows("example.com", "https://example.com@evil.net/"));
  EXPECT_FALSE(Allows("example.com", ""));
  EXPECT_FALSE(Allows("example.com", "example.com"));
}

TEST(ReferrerPatternTest, UrlEntries) {
  EXPECT_TRUE(Allows("https://app.example.com/*", "https://app.example.com/settings/keys"));
  EXPECT_TRUE(Allows("https://App.Example.com/*", "https://app.example.COM/x"));
  EXPECT_FALSE(Allows("https://app.example.com/*", "http://app.example.com/x"));
  EXPECT_FALSE(Allows("https://app.example.com/*", "https://app.example.com.evil.net/x"));
  EXPECT_FALSE(Allows("https://app.example.com/Admin*", "https://app.example.com/admin"));
}

TEST(ReferrerPatternTest, HostOf) {
  EXPECT_EQ(ReferrerHost("https://App.Example.com:8443/x?y"), "app.example.com");
  EXPECT_EQ(ReferrerHost("https://user:pw@example.com/"), "example.com");
  EXPECT_EQ(ReferrerHost("http://[2001:db8::1]:80/"), "[2001:db8::1]");
  EXPECT_EQ(ReferrerHost("no scheme"), "");
}

TEST(ReferrerPatternTest, RefusesBadPatterns) {
  EXPECT_FALSE(ReferrerPattern::Parse("").ok());
  EXPECT_FALSE(ReferrerPattern::Parse("example.com/path").ok());
  EXPECT_FALSE(ReferrerPattern::Parse("exa mple.com").ok());
  EXPECT_FALSE(ReferrerPattern::Parse(std::string(600, 'a')).ok());
}

}  // namespace
}  // namespace keyward
