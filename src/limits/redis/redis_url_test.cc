#include "limits/redis/redis_url.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

TEST(RedisUrlTest, TcpWithDefaults) {
  auto url = RedisUrl::Parse("redis://cache.internal");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->transport, RedisUrl::Transport::kTcp);
  EXPECT_EQ(url->host, "cache.internal");
  EXPECT_EQ(url->port, 6379);
  EXPECT_EQ(url->db, 0);
  EXPECT_TRUE(url->password.empty());
  EXPECT_EQ(url->Redacted(), "redis://cache.internal:6379");
}

TEST(RedisUrlTest, TcpWithEverything) {
  auto url = RedisUrl::Parse("redis://limits:p%40ss:w@rd@10.0.0.5:6380/3");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->user, "limits");
  EXPECT_EQ(url->password, "p@ss:w@rd");
  EXPECT_EQ(url->host, "10.0.0.5");
  EXPECT_EQ(url->port, 6380);
  EXPECT_EQ(url->db, 3);
  EXPECT_EQ(url->Redacted(), "redis://limits:***@10.0.0.5:6380/3");

  auto v6 = RedisUrl::Parse("redis://:pw@[::1]:7000/");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->user, "");
  EXPECT_EQ(v6->password, "pw");
  EXPECT_EQ(v6->Redacted(), "redis://:***@[::1]:7000");
}

TEST(RedisUrlTest, UnixSocket) {
  auto url = RedisUrl::Parse("unix:///run/redis/redis.sock?db=2");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->transport, RedisUrl::Transport::kUnix);
  EXPECT_EQ(url->socket_path, "/run/redis/redis.sock");
  EXPECT_EQ(url->db, 2);
  EXPECT_EQ(url->Redacted(), "unix:///run/redis/redis.sock?db=2");

  auto auth = RedisUrl::Parse("unix://:secret@/run/redis.sock");
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->password, "secret");
  EXPECT_EQ(auth->socket_path, "/run/redis.sock");
  EXPECT_EQ(auth->Redacted(), "unix://:***@/run/redis.sock");
}

TEST(RedisUrlTest, RefusesWhatIsNotCanonicalWithoutQuotingIt) {
  for (const char* bad : {"",
                          "redis://",
                          "redis://:secretpw@",
                          "rediss://:secretpw@host",
                          "http://host",
                          "redis://host:0",
                          "redis://host:65536",
                          "redis://host:",
                          "redis://host/x",
                          "redis://host/1/2",
                          "redis://host?db=1",
                          "redis://secretpw@host",
                          "redis://:secretpw@host%zz",
                          "redis://:secretpw%zz@host",
                          "redis://:@host",
                          "redis://[::1",
                          "redis://ho st",
                          "redis://a:b:c",
                          "unix://",
                          "unix://relative.sock",
                          "unix:///x.sock?timeout=1",
                          "unix:///x.sock?db=a",
                          "unix://:secretpw@relative",
                          "REDIS://host"}) {
    auto url = RedisUrl::Parse(bad);
    EXPECT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.status().message().find("secretpw"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace keyward
