#include "core/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace keyward {
namespace {

TEST(RateLimiterTest, AdmitsABurstThenRefuses) {
  MemoryRateLimiter rl;
  const RateLimit limit{5, 10};  // 5 per 10 s
  const Timestamp t0 = 1'700'000'000'000;
  for (int i = 0; i < 5; ++i) {
    auto d = rl.Take(1, limit, t0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.limit, 5);
  }
  auto refused = rl.Take(1, limit, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_seconds, 2);  // one slot frees every 2 s
}

TEST(RateLimiterTest, RefillsAfterInterval) {
  MemoryRateLimiter rl;
  const RateLimit limit{5, 10};
  const Timestamp t0 = 1'700'000'000'000;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rl.Take(2, limit, t0).allowed);
  EXPECT_FALSE(rl.Take(2, limit, t0 + 1999).allowed);
  EXPECT_TRUE(rl.Take(2, limit, t0 + 2000).allowed);
  EXPECT_FALSE(rl.Take(2, limit, t0 + 2000).allowed);
  // After a whole period the full burst is back.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.Take(2, limit, t0 + 20000).allowed) << i;
}

TEST(RateLimiterTest, RefusedRequestsDoNotConsume) {
  MemoryRateLimiter rl;
  const RateLimit limit{1, 1};
  const Timestamp t0 = 1'700'000'000'000;
  ASSERT_TRUE(rl.Take(2, limit, t0).allowed);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(rl.Take(2, limit, t0 + 500).allowed);
  EXPECT_TRUE(rl.Take(2, limit, t0 + 1000).allowed);
}

TEST(RateLimiterTest, KeysAreIndependent) {
  MemoryRateLimiter rl;
  const RateLimit limit{1, 60};
  EXPECT_TRUE(rl.Take(3, limit, 0).allowed);
  EXPECT_FALSE(rl.Take(3, limit, 0).allowed);
  EXPECT_TRUE(rl.Take(4, limit, 0).allowed);
}

TEST(RateLimiterTest, PruneForgetsRefilledKeys) {
  MemoryRateLimiter rl;
  rl.Take(3, {10, 1}, 0);
  rl.Take(4, {1, 3600}, 0);
  EXPECT_EQ(rl.TrackedKeys(), 2u);
  rl.Prune(2000);
  EXPECT_EQ(rl.TrackedKeys(), 1u);
}

// The verifier skips the failure budget while no address holds state: that
// must be true exactly when nothing is tracked, through Takes and Prunes.
TEST(RateLimiterTest, HoldsNoStateOnlyWhenNothingIsTracked) {
  MemoryRateLimiter rl;
  EXPECT_TRUE(rl.HoldsNoState());
  rl.Take(3, {10, 1}, 0);
  EXPECT_FALSE(rl.HoldsNoState());
  rl.Take(3, {10, 1}, 0);  // the same key again: still one
  rl.Take(4, {1, 3600}, 0);
  rl.Prune(2000);
  EXPECT_FALSE(rl.HoldsNoState()) << "key 4 is still limited";
  EXPECT_FALSE(rl.WouldAdmit(4, {1, 3600}, 2000));
  rl.Prune(3'600'001);
  EXPECT_TRUE(rl.HoldsNoState());
  EXPECT_EQ(rl.TrackedKeys(), 0u);
}

TEST(RateLimiterTest, ManyKeysAndKeyZeroEachKeepTheirOwnBudget) {
  MemoryRateLimiter rl;
  const RateLimit limit{2, 60};
  for (uint64_t k = 0; k < 5000; ++k) ASSERT_TRUE(rl.Take(k << 20, limit, 0).allowed) << k;
  EXPECT_EQ(rl.TrackedKeys(), 5000u);
  for (uint64_t k = 0; k < 5000; ++k) ASSERT_TRUE(rl.Take(k << 20, limit, 0).allowed) << k;
  for (uint64_t k = 0; k < 5000; ++k) ASSERT_FALSE(rl.Take(k << 20, limit, 0).allowed) << k;
  EXPECT_FALSE(rl.WouldAdmit(0, limit, 0));
  EXPECT_TRUE(rl.WouldAdmit(1, limit, 0)) << "key 1 has taken nothing";
}

// Threads take from one key while its table is rebuilt under them, by
// growth (new keys in the same shard) and by Prune (run under TSan): not
// one Take is lost or counted twice, so exactly the limit is admitted.
TEST(RateLimiterTest, RacingTakesAdmitExactlyTheLimitWhileTheTableIsRebuilt) {
  MemoryRateLimiter rl;
  const RateLimit limit{400'000, 3600};  // none refills during the test
  const Timestamp t0 = 1'700'000'000'000;
  const uint64_t key = 0x1234'5678'0000'0000ULL;
  std::atomic<int> admitted{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> takers;
  for (int t = 0; t < 3; ++t) {
    takers.emplace_back([&] {
      for (int i = 0; i < 200'000; ++i) {
        if (rl.Take(key, limit, t0).allowed) admitted++;
      }
    });
  }
  // Keys in the same shard (the shard is picked by the high bits) that
  // refill within a millisecond, so that Prune drops them again.
  std::thread grower([&] {
    uint64_t i = 1;
    while (!stop.load()) rl.Take(key + (i++ % 20000), {1'000'000, 1}, t0);
  });
  std::thread pruner([&] {
    while (!stop.load()) rl.Prune(t0 + 1);
  });
  for (auto& t : takers) t.join();
  stop = true;
  grower.join();
  pruner.join();
  EXPECT_EQ(admitted.load(), 400'000);
  EXPECT_FALSE(rl.Take(key, limit, t0).allowed);
  rl.Prune(t0 + 1);
  EXPECT_EQ(rl.TrackedKeys(), 1u) << "only the key still limited is kept";
}

}  // namespace
}  // namespace keyward
