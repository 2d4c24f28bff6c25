// Against a real redis-server (testing/redis_server.h), on a Unix socket of
// its own, started and killed by each test.
#include "limits/redis/redis_rate_limiter.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "testing/redis_server.h"

namespace keyward {
namespace {

constexpr Timestamp kT0 = 1'700'000'000'000;

struct LogEvent {
  bool up;
  std::string why;
};

// What the limiter told the log, from any thread.
class LogRecorder {
 public:
  std::function<void(bool, const std::string&)> Callback() {
    return [this](bool up, const std::string& why) {
      MutexLock lock(&mu_);
      events_.push_back({up, why});
    };
  }
  std::vector<LogEvent> events() const {
    MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable Mutex mu_;
  std::vector<LogEvent> events_ GUARDED_BY(mu_);
};

// A plain hiredis connection, to look at what the limiter stored.
class RawRedis {
 public:
  explicit RawRedis(const std::string& socket) : c_(redisConnectUnix(socket.c_str())) {}
  ~RawRedis() { redisFree(c_); }
  bool ok() const { return c_ != nullptr && c_->err == 0; }
  // The integer reply of a command, or -999 when it was not an integer.
  long long Integer(const std::vector<std::string>& args) {
    redisReply* r = Run(args);
    long long v = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
    if (r != nullptr) freeReplyObject(r);
    return v;
  }
  std::string Status(const std::vector<std::string>& args) {
    redisReply* r = Run(args);
    std::string v = r != nullptr && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)
                        ? std::string(r->str, r->len)
                        : "?";
    if (r != nullptr) freeReplyObject(r);
    return v;
  }

 private:
  redisReply* Run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(args.size()), argv.data(), lens.data()));
  }
  redisContext* c_;
};

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << server_.error(); }

  RedisRateLimiterOptions Options(RedisFailureMode mode = RedisFailureMode::kFailOpen) {
    RedisRateLimiterOptions o;
    o.url = server_.url();
    o.failure_mode = mode;
    o.fallback = &fallback_;
    o.timeout = std::chrono::milliseconds(1000);  // generous: sanitizer builds are slow
    o.retry_interval = std::chrono::hours(1);     // a test that wants a retry says so
    o.on_state_change = log_.Callback();
    return o;
  }

  std::unique_ptr<RedisRateLimiter> Make(RedisRateLimiterOptions o) {
    auto limiter = RedisRateLimiter::Create(std::move(o));
    EXPECT_TRUE(limiter.ok()) << limiter.status().ToString();
    return limiter.ok() ? std::move(*limiter) : nullptr;
  }

  testing::RedisServer server_;
  MemoryRateLimiter fallback_;
  LogRecorder log_;
};

void ExpectSameDecision(const RateLimitDecision& memory, const RateLimitDecision& redis,
                        const std::string& where) {
  EXPECT_EQ(memory.allowed, redis.allowed) << where;
  EXPECT_EQ(memory.limit, redis.limit) << where;
  EXPECT_EQ(memory.remaining, redis.remaining) << where;
  EXPECT_EQ(memory.reset_seconds, redis.reset_seconds) << where;
  EXPECT_EQ(memory.retry_after_seconds, redis.retry_after_seconds) << where;
}

TEST_F(RedisRateLimiterTest, TwoNodesShareOneLimit) {
  MemoryRateLimiter fallback_b;
  auto a = Make(Options());
  auto o = Options();
  o.fallback = &fallback_b;
  auto b = Make(o);
  ASSERT_TRUE(a && b);
  const RateLimit limit{10, 3600};
  int admitted = 0;
  for (int i = 0; i < 30; ++i) {
    RedisRateLimiter& node = i % 2 == 0 ? *a : *b;
    if (node.Take(42, limit, kT0).allowed) ++admitted;
  }
  EXPECT_EQ(admitted, 10);
  EXPECT_FALSE(a->WouldAdmit(42, limit, kT0));
  EXPECT_FALSE(b->WouldAdmit(42, limit, kT0));
  // Another key has its own bucket.
  EXPECT_TRUE(b->Take(43, limit, kT0).allowed);
  EXPECT_EQ(a->Stats().fallback_decisions + b->Stats().fallback_decisions, 0u);
  EXPECT_EQ(fallback_.TrackedKeys() + fallback_b.TrackedKeys(), 0u);
  EXPECT_TRUE(log_.events().empty());
}

// The failed-verification budget is asked before every verification: a
// key this node never took for costs no round trip; one it took for is
// asked of Redis, so a budget spent on other nodes holds here too; a
// refusal is remembered until its retry time.
TEST_F(RedisRateLimiterTest, PeekingAsksRedisOnlyAboutKeysTakenHere) {
  MemoryRateLimiter fallback_b;
  auto o = Options();
  o.peek_from_refusals = true;
  o.use_caller_clock = true;
  auto a = Make(o);
  o.fallback = &fallback_b;
  auto b = Make(o);
  ASSERT_TRUE(a && b);
  const RateLimit budget{3, 60};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(a->WouldAdmit(7, budget, kT0));
  EXPECT_EQ(a->Stats().decisions, 0u) << "a peek at a key never taken here went to Redis";
  // One failure here, two on node b: the budget is spent, and a knows.
  ASSERT_TRUE(a->Take(7, budget, kT0).allowed);
  ASSERT_TRUE(b->Take(7, budget, kT0).allowed);
  ASSERT_TRUE(b->Take(7, budget, kT0).allowed);
  EXPECT_FALSE(a->WouldAdmit(7, budget, kT0));
  EXPECT_FALSE(b->WouldAdmit(7, budget, kT0));
  // A refusal is remembered: no round trip until its retry time.
  const auto refused = b->Take(7, budget, kT0);
  ASSERT_FALSE(refused.allowed);
  const uint64_t before = b->Stats().decisions;
  EXPECT_FALSE(b->WouldAdmit(7, budget, kT0 + 1));
  EXPECT_EQ(b->Stats().decisions, before);
  // Once the period is over and pruned, the key is a stranger again.
  a->Prune(kT0 + 60'000);
  EXPECT_TRUE(a->WouldAdmit(7, budget, kT0 + 60'000));
}

// The same requests at the same moments get the same answers, field by
// field, from both engines (the caller's clock, so that time can move).
TEST_F(RedisRateLimiterTest, AnswersAsTheMemoryLimiterDoes) {
  auto o = Options();
  o.use_caller_clock = true;
  auto redis = Make(o);
  ASSERT_TRUE(redis);
  MemoryRateLimiter memory;

  // The memory limiter's own unit test, replayed.
  const RateLimit five_per_10s{5, 10};
  std::vector<Timestamp> times = {kT0, kT0, kT0, kT0, kT0, kT0, kT0 + 1999, kT0 + 2000, kT0 + 2000};
  for (int i = 0; i < 6; ++i) times.push_back(kT0 + 20000);
  for (size_t i = 0; i < times.size(); ++i) {
    const std::string where = "step " + std::to_string(i);
    EXPECT_EQ(memory.WouldAdmit(1, five_per_10s, times[i]),
              redis->WouldAdmit(1, five_per_10s, times[i]))
        << where;
    ExpectSameDecision(memory.Take(1, five_per_10s, times[i]),
                       redis->Take(1, five_per_10s, times[i]), where);
  }

  // Random arrivals on limits whose intervals are not whole seconds. Every
  // interval is long against the test's real run time, so that Redis's TTLs
  // (real time) never expire a bucket the caller's clock still holds.
  const RateLimit limits[] = {{3, 7}, {7, 30}, {100, 3600}, {1, 5}, {6, 20}};
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> step_ms(0, 3000);
  for (uint64_t k = 0; k < std::size(limits); ++k) {
    const uint64_t key = 0xabcdef0000000000ULL + k;
    Timestamp now = kT0;
    for (int i = 0; i < 60; ++i) {
      if (i % 3 != 0) now += step_ms(rng);
      const std::string where = "limit " + std::to_string(k) + " step " + std::to_string(i);
      EXPECT_EQ(memory.WouldAdmit(key, limits[k], now), redis->WouldAdmit(key, limits[k], now))
          << where;
      ExpectSameDecision(memory.Take(key, limits[k], now), redis->Take(key, limits[k], now), where);
    }
  }
  // Limits that admit nothing are refused alike, without a round trip.
  ExpectSameDecision(memory.Take(9, {0, 10}, kT0), redis->Take(9, {0, 10}, kT0), "zero limit");
  EXPECT_EQ(redis->Stats().fallback_decisions, 0u);
}

// On Redis's own clock a burst is answered as the memory limiter answers it
// at one instant: the few milliseconds between round trips change no field.
TEST_F(RedisRateLimiterTest, RedisClockBurstMatchesMemory) {
  auto redis = Make(Options());
  ASSERT_TRUE(redis);
  MemoryRateLimiter memory;
  const RateLimit limit{5, 10};
  for (int i = 0; i < 8; ++i) {
    ExpectSameDecision(memory.Take(7, limit, kT0), redis->Take(7, limit, kT0),
                       "take " + std::to_string(i));
  }
}

TEST_F(RedisRateLimiterTest, StoresOneBucketThatExpiresWhenFull) {
  auto redis = Make(Options());
  ASSERT_TRUE(redis);
  RawRedis raw(server_.socket_path());
  ASSERT_TRUE(raw.ok());
  const std::string bucket = "kw:rl:00000000000000ff";
  const RateLimit limit{5, 10};  // a slot is 2 s

  EXPECT_TRUE(redis->WouldAdmit(0xff, limit, kT0));
  EXPECT_EQ(raw.Integer({"EXISTS", bucket}), 0) << "WouldAdmit wrote";

  ASSERT_TRUE(redis->Take(0xff, limit, kT0).allowed);
  long long ttl = raw.Integer({"PTTL", bucket});
  EXPECT_GT(ttl, 1500);
  EXPECT_LE(ttl, 2000);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(redis->Take(0xff, limit, kT0).allowed);
  ttl = raw.Integer({"PTTL", bucket});
  EXPECT_GT(ttl, 9500);
  EXPECT_LE(ttl, 10000);
  EXPECT_FALSE(redis->Take(0xff, limit, kT0).allowed);
  EXPECT_FALSE(redis->WouldAdmit(0xff, limit, kT0));
  EXPECT_EQ(raw.Integer({"DBSIZE"}), 1);
}

TEST_F(RedisRateLimiterTest, SurvivesAFlushedScriptCache) {
  auto redis = Make(Options());
  ASSERT_TRUE(redis);
  ASSERT_TRUE(redis->Take(1, {3, 60}, kT0).allowed);
  RawRedis raw(server_.socket_path());
  ASSERT_EQ(raw.Status({"SCRIPT", "FLUSH"}), "OK");
  // NOSCRIPT, then EVAL on the same connection.
  auto d = redis->Take(1, {3, 60}, kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_EQ(redis->Stats().errors, 0u);
  EXPECT_EQ(redis->Stats().fallback_decisions, 0u);
}

TEST_F(RedisRateLimiterTest, FailOpenFallsBackToMemoryAndLogsOnce) {
  auto redis = Make(Options(RedisFailureMode::kFailOpen));
  ASSERT_TRUE(redis);
  const RateLimit limit{3, 3600};
  ASSERT_TRUE(redis->Take(5, limit, kT0).allowed);
  server_.Stop();

  int admitted = 0;
  for (int i = 0; i < 20; ++i) {
    if (redis->Take(5, limit, kT0).allowed) ++admitted;
  }
  // This node's own limit: the fallback has seen none of Redis's takes.
  EXPECT_EQ(admitted, 3);
  EXPECT_EQ(fallback_.TrackedKeys(), 1u);
  EXPECT_FALSE(redis->WouldAdmit(5, limit, kT0));

  RedisRateLimiterStats s = redis->Stats();
  EXPECT_EQ(s.decisions, 22u);
  EXPECT_EQ(s.fallback_decisions, 21u);
  EXPECT_EQ(s.errors, 1u) << "tried Redis again before retry_interval";
  EXPECT_FALSE(s.up);
  auto events = log_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].up);
  EXPECT_NE(events[0].why.find(server_.socket_path()), std::string::npos) << events[0].why;
  EXPECT_FALSE(redis->Ping().ok());
}

TEST_F(RedisRateLimiterTest, FailClosedRefusesAndLogsOnce) {
  auto o = Options(RedisFailureMode::kFailClosed);
  o.fallback = nullptr;
  auto redis = Make(o);
  ASSERT_TRUE(redis);
  const RateLimit limit{100, 60};
  ASSERT_TRUE(redis->Take(5, limit, kT0).allowed);
  server_.Stop();
  for (int i = 0; i < 10; ++i) {
    auto d = redis->Take(5, limit, kT0);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.limit, 100);
    EXPECT_EQ(d.remaining, 0);
    EXPECT_EQ(d.retry_after_seconds, 1);
  }
  EXPECT_FALSE(redis->WouldAdmit(5, limit, kT0));
  RedisRateLimiterStats s = redis->Stats();
  EXPECT_EQ(s.fallback_decisions, 11u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_FALSE(s.up);
  auto events = log_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].up);
  EXPECT_NE(events[0].why.find("refused"), std::string::npos) << events[0].why;
}

// Waits, taking as a request would, until the limiter uses Redis again.
bool TakeUntilUp(RedisRateLimiter& redis, uint64_t key, const RateLimit& limit) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    (void)redis.Take(key, limit, kT0);
    if (redis.Stats().up) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST_F(RedisRateLimiterTest, RecoversWhenRedisIsBackOnTheSameSocket) {
  for (RedisFailureMode mode : {RedisFailureMode::kFailOpen, RedisFailureMode::kFailClosed}) {
    SCOPED_TRACE(mode == RedisFailureMode::kFailOpen ? "fail_open" : "fail_closed");
    LogRecorder log;
    auto o = Options(mode);
    o.retry_interval = std::chrono::milliseconds(20);
    o.on_state_change = log.Callback();
    auto redis = Make(o);
    ASSERT_TRUE(redis);
    const RateLimit limit{1000, 3600};
    ASSERT_TRUE(server_.Start()) << server_.error();
    ASSERT_TRUE(redis->Take(1, limit, kT0).allowed);

    for (int outage = 0; outage < 2; ++outage) {
      server_.Stop();
      // Many requests, several retries: still one line per change.
      for (int i = 0; i < 30; ++i) {
        (void)redis->Take(1, limit, kT0);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      EXPECT_FALSE(redis->Stats().up);
      ASSERT_TRUE(server_.Start()) << server_.error();
      ASSERT_TRUE(TakeUntilUp(*redis, 1, limit));
    }
    auto events = log.events();
    ASSERT_EQ(events.size(), 4u);
    EXPECT_FALSE(events[0].up);
    EXPECT_TRUE(events[1].up);
    EXPECT_FALSE(events[2].up);
    EXPECT_TRUE(events[3].up);
    EXPECT_NE(events[1].why.find("answers again"), std::string::npos) << events[1].why;
    EXPECT_GE(redis->Stats().errors, 2u);

    // Decisions are Redis's again: a fresh server, so a fresh bucket.
    RawRedis raw(server_.socket_path());
    const uint64_t fallback_before = redis->Stats().fallback_decisions;
    auto d = redis->Take(77, {2, 60}, kT0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(raw.Integer({"EXISTS", "kw:rl:000000000000004d"}), 1);
    EXPECT_EQ(redis->Stats().fallback_decisions, fallback_before);
    EXPECT_TRUE(redis->Ping().ok());
  }
}

// A server restarted between two calls leaves dead connections in the pool:
// the next call opens a new one instead of declaring an outage.
TEST_F(RedisRateLimiterTest, RestartBetweenCallsIsNotAnOutage) {
  auto redis = Make(Options());
  ASSERT_TRUE(redis);
  ASSERT_TRUE(redis->Take(1, {10, 60}, kT0).allowed);
  server_.Stop();
  ASSERT_TRUE(server_.Start()) << server_.error();
  auto d = redis->Take(1, {10, 60}, kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 9);  // the new server's empty bucket
  RedisRateLimiterStats s = redis->Stats();
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.fallback_decisions, 0u);
  EXPECT_TRUE(log_.events().empty());
}

TEST_F(RedisRateLimiterTest, ConcurrentTakesFromTwoNodesAdmitExactlyTheLimit) {
  MemoryRateLimiter fallback_b;
  auto a = Make(Options());
  auto o = Options();
  o.fallback = &fallback_b;
  o.max_idle_connections = 2;  // fewer than the threads: connections come and go
  auto b = Make(o);
  ASSERT_TRUE(a && b);
  const RateLimit limit{500, 3600};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        RedisRateLimiter& node = (t + i) % 2 == 0 ? *a : *b;
        if (node.Take(99, limit, kT0).allowed) admitted.fetch_add(1);
        (void)node.WouldAdmit(99, limit, kT0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 500);
  EXPECT_EQ(a->Stats().decisions + b->Stats().decisions, 1600u);
  EXPECT_EQ(a->Stats().fallback_decisions + b->Stats().fallback_decisions, 0u);
}

TEST_F(RedisRateLimiterTest, ConcurrentTakesThroughAnOutage) {
  auto o = Options();
  o.retry_interval = std::chrono::milliseconds(10);
  auto redis = Make(o);
  ASSERT_TRUE(redis);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; !stop.load(); ++i) {
        (void)redis->Take(static_cast<uint64_t>(t) << 32 | (i % 16), {1000, 60}, kT0);
        calls.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server_.Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(server_.Start()) << server_.error();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!redis->Stats().up && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  for (auto& th : threads) th.join();

  RedisRateLimiterStats s = redis->Stats();
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.decisions, calls.load());
  EXPECT_GT(s.fallback_decisions, 0u);
  int downs = 0, ups = 0;
  for (const auto& e : log_.events()) (e.up ? ups : downs)++;
  EXPECT_GE(downs, 1);
  EXPECT_EQ(downs, ups);
}

TEST_F(RedisRateLimiterTest, PasswordSignsInAndIsNeverShown) {
  const std::string password = "s3cret-Pa55word";
  server_.Stop();
  ASSERT_TRUE(server_.Start({"--requirepass", password})) << server_.error();

  auto o = Options();
  o.url = "unix://:" + password + "@" + server_.socket_path();
  auto good = Make(o);
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->Ping().ok());
  EXPECT_TRUE(good->Take(3, {2, 60}, kT0).allowed);
  EXPECT_EQ(good->Stats().fallback_decisions, 0u);
  EXPECT_EQ(good->redacted_url().find(password), std::string::npos);

  const std::string wrong = "wr0ng-Pa55word";
  o.url = "unix://:" + wrong + "@" + server_.socket_path();
  auto bad = Make(o);
  ASSERT_TRUE(bad);
  Status st = bad->Ping();
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().find(wrong), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("AUTH"), std::string::npos) << st.message();
  EXPECT_TRUE(bad->Take(3, {2, 60}, kT0).allowed);  // fail open: the fallback
  for (const auto& e : log_.events()) {
    EXPECT_EQ(e.why.find(wrong), std::string::npos) << e.why;
    EXPECT_EQ(e.why.find(password), std::string::npos) << e.why;
  }
  EXPECT_FALSE(log_.events().empty());
}

TEST(RedisRateLimiterOptionsTest, RefusesWhatCannotWork) {
  RedisRateLimiterOptions o;
  o.url = "redis://127.0.0.1:6379";
  auto no_fallback = RedisRateLimiter::Create(o);
  EXPECT_FALSE(no_fallback.ok());

  MemoryRateLimiter fallback;
  o.fallback = &fallback;
  o.url = "http://:hunter2@example.com";
  auto bad_url = RedisRateLimiter::Create(o);
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.status().message().find("hunter2"), std::string::npos);

  o.url = "redis://:hunter2@127.0.0.1:1/0";
  auto ok = RedisRateLimiter::Create(o);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->redacted_url(), "redis://:***@127.0.0.1:1");

  o.failure_mode = RedisFailureMode::kFailClosed;
  o.fallback = nullptr;
  EXPECT_TRUE(RedisRateLimiter::Create(o).ok());

  EXPECT_EQ(*ParseRedisFailureMode("fail_open"), RedisFailureMode::kFailOpen);
  EXPECT_EQ(*ParseRedisFailureMode("fail_closed"), RedisFailureMode::kFailClosed);
  EXPECT_FALSE(ParseRedisFailureMode("open").ok());
}

// Nothing listens on port 1: each decision is the fallback's, and the
// outage is logged once, without the password.
TEST(RedisRateLimiterOptionsTest, UnreachableTcpServerFailsOpen) {
  MemoryRateLimiter fallback;
  LogRecorder log;
  RedisRateLimiterOptions o;
  o.url = "redis://:hunter2@127.0.0.1:1";
  o.fallback = &fallback;
  o.on_state_change = log.Callback();
  auto redis = RedisRateLimiter::Create(o);
  ASSERT_TRUE(redis.ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((*redis)->Take(1, {3, 60}, kT0).allowed);
  EXPECT_FALSE((*redis)->Take(1, {3, 60}, kT0).allowed);
  auto events = log.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].why.find("hunter2"), std::string::npos) << events[0].why;
  EXPECT_NE(events[0].why.find("redis://:***@127.0.0.1:1"), std::string::npos) << events[0].why;
}

}  // namespace
}  // namespace keyward
