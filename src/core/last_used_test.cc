#include "core/last_used.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace keyward {
namespace {

TEST(LastUsedTrackerTest, KeepsTheLatestTimePerKeyAndDrainsOnce) {
  LastUsedTracker t;
  t.Record("key_a", 100);
  t.Record("key_a", 50);
  t.Record("key_b", 70);
  t.Record("key_a", 120);
  auto drained = t.Drain();
  std::map<std::string, Timestamp> m(drained.begin(), drained.end());
  EXPECT_EQ(m, (std::map<std::string, Timestamp>{{"key_a", 120}, {"key_b", 70}}));
  EXPECT_TRUE(t.Drain().empty());
}

TEST(LastUsedTrackerTest, ConcurrentRecordsAreNotLost) {
  LastUsedTracker t;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&t, i] {
      for (int n = 0; n < 1000; ++n) t.Record("key_" + std::to_string(n % 50), i * 1000 + n);
    });
  }
  for (auto& th : threads) th.join();
  auto drained = t.Drain();
  EXPECT_EQ(drained.size(), 50u);
  for (const auto& [id, at] : drained) EXPECT_GE(at, 3000);
}

}  // namespace
}  // namespace keyward
