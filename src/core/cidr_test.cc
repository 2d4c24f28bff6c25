#include "core/cidr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace keyward {
namespace {

bool In(const char* block, const char* ip) {
  auto b = CidrBlock::Parse(block);
  auto a = ParseIpAddress(ip);
  return b.ok() && a && b->Contains(*a);
}

TEST(CidrTest, Ipv4) {
  EXPECT_TRUE(In("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(In("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(In("192.168.1.0/24", "192.168.1.77"));
  EXPECT_FALSE(In("192.168.1.0/24", "192.168.2.1"));
  EXPECT_TRUE(In("203.0.113.7", "203.0.113.7"));
  EXPECT_FALSE(In("203.0.113.7", "203.0.113.8"));
  EXPECT_TRUE(In("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(In("172.16.0.0/12", "172.31.255.255"));
  EXPECT_FALSE(In("172.16.0.0/12", "172.32.0.0"));
}

TEST(CidrTest, Ipv6) {
  EXPECT_TRUE(In("2001:db8::/32", "2001:db8:1234::1"));
  EXPECT_FALSE(In("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(In("::1", "::1"));
  EXPECT_TRUE(In("2001:db8::/127", "2001:db8::1"));
  EXPECT_FALSE(In("2001:db8::/128", "2001:db8::1"));
  EXPECT_TRUE(In("2001:db8::/32", "[2001:db8::5]"));
}

TEST(CidrTest, MappedIpv4MatchesIpv4Blocks) {
  EXPECT_TRUE(In("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_FALSE(In("10.0.0.0/8", "::ffff:11.1.2.3"));
  // An IPv6 block that is not the mapped range does not match IPv4.
  EXPECT_FALSE(In("2001:db8::/32", "10.0.0.1"));
}

TEST(CidrTest, CanonicalText) {
  EXPECT_EQ(CidrBlock::Parse("10.0.0.0/8")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(CidrBlock::Parse("203.0.113.7")->ToString(), "203.0.113.7/32");
  EXPECT_EQ(CidrBlock::Parse("2001:0db8:0000::/32")->ToString(), "2001:db8::/32");
}

TEST(CidrTest, RefusesBadBlocks) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0/8", "300.1.1.1",
                          "2001:db8::/129", "hello", "10.0.0.0/8/8", "10.0.0.0/8x", "1.2.3.4 "}) {
    EXPECT_FALSE(CidrBlock::Parse(bad).ok()) << bad;
  }
}

TEST(CidrTest, HostBitsSetNamesTheIntendedBlock) {
  auto r = CidrBlock::Parse("192.168.1.10/24");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("192.168.1.0/24"), std::string::npos);
}

TEST(CidrTest, ParseIpAddressRefusesJunk) {
  EXPECT_FALSE(ParseIpAddress(""));
  EXPECT_FALSE(ParseIpAddress("1.2.3"));
  EXPECT_FALSE(ParseIpAddress("::g"));
  EXPECT_FALSE(ParseIpAddress(std::string(100, '1')));
}

// Found by the CIDR fuzzer: inet_pton stopped at an embedded NUL, so
// "::\0\0…" was the address "::" and "10.0.0.1\0junk" was 10.0.0.1.
TEST(CidrTest, EmbeddedNulIsNotAnAddress) {
  using namespace std::string_literals;
  EXPECT_FALSE(ParseIpAddress("::\0\0\0"s).has_value());
  EXPECT_FALSE(ParseIpAddress("10.0.0.1\0junk"s).has_value());
  EXPECT_FALSE(CidrBlock::Parse("10.0.0.0\0/8"s).ok());
  EXPECT_FALSE(CidrBlock::Parse("10.0.0.0/8\0"s).ok());
  EXPECT_TRUE(ParseIpAddress("10.0.0.1").has_value());
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

// IPv4 is formatted without inet_ntop; the text must be what it writes.
TEST(CidrTest, FormatsIpv4AsInetNtopDoes) {
  uint32_t x = 2463534242u;
  std::vector<std::array<uint8_t, 4>> samples = {
      {0, 0, 0, 0}, {255, 255, 255, 255}, {10, 0, 12, 1}, {192, 168, 100, 9}, {1, 20, 199, 0}};
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    samples.push_back({static_cast<uint8_t>(x), static_cast<uint8_t>(x >> 8),
                       static_cast<uint8_t>(x >> 16), static_cast<uint8_t>(x >> 24)});
  }
  for (const auto& b : samples) {
    char want[INET_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET, b.data(), want, sizeof want), nullptr);
    const auto ip = ParseIpAddress(want);
    ASSERT_TRUE(ip.has_value()) << want;
    EXPECT_EQ(FormatIpAddress(*ip), want);
  }
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("::ffff:10.1.2.3")), "10.1.2.3");
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("2001:db8::1")), "2001:db8::1");
}

}  // namespace
}  // namespace keyward
