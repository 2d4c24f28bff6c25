// The private-address guard as tables: which addresses are private (and
// which range), which URLs parse (and to what), and what a target resolves
// to with and without allow_private_targets.
#include "webhooks/target_guard.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

std::string RangeOf(const std::string& text) {
  auto ip = ParseIpAddress(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip ? std::string(PrivateRangeOf(*ip)) : "unparsed";
}

TEST(TargetGuardTest, PrivateRanges) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"10.0.0.1", "private"},
      {"10.255.255.255", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.254", "private"},
      {"192.168.1.1", "private"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"169.254.169.254", "link-local"},
      {"100.64.0.1", "shared"},
      {"100.127.255.254", "shared"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"255.255.255.255", "reserved"},
      {"192.0.2.1", "documentation"},
      {"198.18.0.1", "benchmarking"},
      {"::1", "loopback"},
      {"::", "reserved"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fc00::1", "private"},
      {"fd12:3456::1", "private"},
      {"ff02::1", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:169.254.169.254", "link-local"},
      {"::127.0.0.1", "reserved"},
      {"64:ff9b::7f00:1", "translated"},
      {"2001:db8::1", "documentation"},
  };
  for (const auto& [ip, range] : table) EXPECT_EQ(RangeOf(ip), range) << ip;
}

TEST(TargetGuardTest, PublicAddresses) {
  for (const char* ip :
       {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
        "169.253.255.255", "11.0.0.1", "192.167.255.255", "223.255.255.255", "2606:4700::1111",
        "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(RangeOf(ip), "") << ip;
  }
}

TEST(TargetGuardTest, ParsesWhatItAccepts) {
  struct Case {
    const char* url;
    bool tls;
    const char* host;
    const char* port;
    const char* target;
    bool host_is_ip;
  };
  const Case cases[] = {
      {"https://hooks.example.com/keyward", true, "hooks.example.com", "443", "/keyward", false},
      {"http://hooks.example.com", false, "hooks.example.com", "80", "/", false},
      {"HTTPS://Hooks.Example.COM:8443/a/b?c=d&e", true, "hooks.example.com", "8443", "/a/b?c=d&e",
       false},
      {"https://example.com?x=1", true, "example.com", "443", "/?x=1", false},
      {"http://8.8.8.8:8080/hook", false, "8.8.8.8", "8080", "/hook", true},
      {"https://[2606:4700::1111]/h", true, "2606:4700::1111", "443", "/h", true},
      {"https://[2606:4700::1111]:444", true, "2606:4700::1111", "444", "/", true},
      {"http://my_host.internal/", false, "my_host.internal", "80", "/", false},
      {"https://example.com:00443/", true, "example.com", "443", "/", false},
  };
  for (const Case& c : cases) {
    auto u = ParseWebhookUrl(c.url);
    ASSERT_TRUE(u.ok()) << c.url << ": " << u.status().ToString();
    EXPECT_EQ(u->tls, c.tls) << c.url;
    EXPECT_EQ(u->host, c.host) << c.url;
    EXPECT_EQ(u->port, c.port) << c.url;
    EXPECT_EQ(u->target, c.target) << c.url;
    EXPECT_EQ(u->host_is_ip, c.host_is_ip) << c.url;
  }
}

TEST(TargetGuardTest, RefusesWhatItShould) {
  for (const std::string& url : std::vector<std::string>{
           "",
           "hooks.example.com/x",
           "ftp://example.com/",
           "file:///etc/passwd",
           "gopher://example.com/",
           "javascript:alert(1)",
           "//example.com/",
           "https://",
           "https:///x",
           "https://user:pass@example.com/",
           "https://user@example.com/",
           "https://example.com@evil.example/",
           "https://example.com/#frag",
           "https://example.com#",
           "https://exa mple.com/",
           "https://example.com/a b",
           "https://example.com/\r\nX-Injected: 1",
           "https://example.com/\x7f",
           "https://ex\xc3\xa4mple.com/",
           "https://example.com:0/",
           "https://example.com:65536/",
           "https://example.com:99999999999/",
           "https://example.com:-1/",
           "https://example.com:8o/",
           "https://[::1/",
           "https://[::1]x/",
           "https://ex%61mple.com/",
           "https://example.com\\@evil/",
           std::string("https://example.com/") + std::string(2040, 'a'),
       }) {
    EXPECT_FALSE(ParseWebhookUrl(url).ok()) << url;
    if (auto r = ParseWebhookUrl(url); !r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidRequest) << url;
    }
  }
}

TEST(TargetGuardTest, ResolvesLiteralsAndRefusesPrivateOnesUnlessAllowed) {
  for (const char* url :
       {"http://127.0.0.1/", "http://[::1]/", "http://10.0.0.1/", "http://169.254.169.254/",
        "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://localhost/",
        "http://2130706433/", "http://0x7f000001/", "http://127.1/"}) {
    auto u = ParseWebhookUrl(url);
    ASSERT_TRUE(u.ok()) << url;
    auto refused = ResolveWebhookTarget(*u, /*allow_private_targets=*/false);
    EXPECT_EQ(refused.status().code(), Code::kInvalidRequest) << url;
    auto allowed = ResolveWebhookTarget(*u, /*allow_private_targets=*/true);
    ASSERT_TRUE(allowed.ok()) << url << ": " << allowed.status().ToString();
    EXPECT_FALSE(allowed->empty());
  }
  auto pub = ResolveWebhookTarget(*ParseWebhookUrl("https://8.8.8.8/"), false);
  ASSERT_TRUE(pub.ok());
  ASSERT_EQ(pub->size(), 1u);
  EXPECT_EQ(FormatIpAddress((*pub)[0]), "8.8.8.8");
  // A name that does not resolve is unavailable, not refused.
  auto none = ResolveWebhookTarget(*ParseWebhookUrl("https://no-such-host.invalid/"), false);
  EXPECT_EQ(none.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace keyward
