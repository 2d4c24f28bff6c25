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
  EXPECT_TRUE(Allows("*.example.com", "https://a.b.example.com/"));
  EXPECT_FALSE(Allows("*.example.com", "https://example.com/"));
  EXPECT_FALSE(Allows("*.example.com", "https://example.com.evil.net/"));
  EXPECT_FALSE(Allows("*.example.com", "https://evilexample.com/"));
  EXPECT_FALSE(Allows("example.com", "https://example.com@evil.net/"));
  EXPECT_FALSE(Allows("example.com", "https://evil.net\\@example.com/"));
  EXPECT_FALSE(Allows("example.com", "https://example.com./"));
  EXPECT_FALSE(Allows("example.com", "https://exa%6Dple.com/"));
  EXPECT_FALSE(Allows("example.com", ""));
  EXPECT_FALSE(Allows("example.com", "example.com"));
}

TEST(ReferrerPatternTest, UrlEntries) {
  EXPECT_TRUE(Allows("https://app.example.com/**", "https://app.example.com/settings/keys"));
  EXPECT_TRUE(Allows("https://app.example.com/*", "https://app.example.com/settings"));
  EXPECT_FALSE(Allows("https://app.example.com/*", "https://app.example.com/settings/keys"));
  EXPECT_TRUE(Allows("https://App.Example.com/**", "https://app.example.COM/x"));
  EXPECT_TRUE(Allows("https://app.example.com", "https://app.example.com/any/page?q=1"));
  EXPECT_FALSE(Allows("https://app.example.com/**", "http://app.example.com/x"));
  EXPECT_FALSE(Allows("https://app.example.com/**", "https://app.example.com.evil.net/x"));
  EXPECT_FALSE(Allows("https://app.example.com/Admin*", "https://app.example.com/admin"));
  EXPECT_FALSE(Allows("https://app.example.com/**", "https://app.example.com:8443/x"));
  EXPECT_TRUE(Allows("https://app.example.com:*/**", "https://app.example.com:8443/x"));
  EXPECT_FALSE(Allows("https://app.example.com/keys/**", "https://app.example.com/keys/../admin"));
}

// Issue 9, finding 7: with "https://*.example.com/*", "*" crossed "/" and
// "?", so the host of these referrers was evil.com and they matched.
TEST(ReferrerPatternTest, HostWildcardsMatchWholeLabelsOnly) {
  const char* pattern = "https://*.example.com/*";
  EXPECT_FALSE(Allows(pattern, "https://evil.com/.example.com/"));
  EXPECT_FALSE(Allows(pattern, "https://evil.com/?.example.com/"));
  EXPECT_FALSE(Allows(pattern, "https://evil.com#.example.com/"));
  EXPECT_FALSE(Allows(pattern, "https://evil.com:443@x.example.com/"));
  EXPECT_TRUE(Allows(pattern, "https://app.example.com/"));
  EXPECT_TRUE(Allows(pattern, "https://app.example.com/page?x=1"));
}

TEST(ReferrerPatternTest, HostOf) {
  EXPECT_EQ(ReferrerHost("https://App.Example.com:8443/x?y"), "app.example.com");
  EXPECT_EQ(ReferrerHost("https://user:pw@example.com/"), "");  // user info: not read
  EXPECT_EQ(ReferrerHost("http://[2001:db8::1]:80/"), "[2001:db8::1]");
  EXPECT_EQ(ReferrerHost("no scheme"), "");
}

TEST(ReferrerPatternTest, RefusesBadPatterns) {
  for (const char* bad : {"", "example.com/path", "exa mple.com", "a.*.example.com", "*example.com",
                          "https://*evil.com/", "https://example.com/a?b", "https://example.com//x",
                          "https://example.com/a**", "user@example.com", "://x.com"}) {
    EXPECT_FALSE(ReferrerPattern::Parse(bad).ok()) << bad;
  }
  EXPECT_FALSE(ReferrerPattern::Parse(std::string(600, 'a')).ok());
}

TEST(ReferrerPatternTest, IsWithin) {
  auto p = [](const char* t) { return *ReferrerPattern::Parse(t); };
  EXPECT_TRUE(p("app.example.com").IsWithin(p("*.example.com")));
  EXPECT_TRUE(p("*.a.example.com").IsWithin(p("*.example.com")));
  EXPECT_TRUE(p("https://app.example.com/keys").IsWithin(p("https://app.example.com/*")));
  EXPECT_TRUE(p("https://app.example.com/**").IsWithin(p("app.example.com")));
  EXPECT_FALSE(p("*.example.com").IsWithin(p("app.example.com")));
  EXPECT_FALSE(p("example.com").IsWithin(p("*.example.com")));
  EXPECT_FALSE(p("app.example.com").IsWithin(p("https://app.example.com/**")));
  EXPECT_FALSE(p("https://app.example.com/**").IsWithin(p("https://app.example.com/*")));
  EXPECT_FALSE(p("http://app.example.com").IsWithin(p("https://app.example.com")));
}

}  // namespace
}  // namespace keyward
