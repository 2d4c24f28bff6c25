#include "core/thread_stripe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace keyward {
namespace {

// Threads alive together never share a number, however many came and went.
TEST(ThreadStripeTest, LiveThreadsNeverShareANumber) {
  const size_t mine = ThreadStripe();
  EXPECT_EQ(ThreadStripe(), mine) << "a thread keeps its number";
  // Many short-lived threads, one after another: each may take a number a
  // finished one gave back, but never this live thread's.
  std::set<size_t> seen;
  for (int i = 0; i < 100; ++i) {
    size_t n = 0;
    std::thread([&n] { n = ThreadStripe(); }).join();
    EXPECT_NE(n, mine);
    seen.insert(n);
  }
  // Numbers are reused: a hundred threads in turn held very few of them
  // (16 copies of a counter then never wrap onto this thread's).
  EXPECT_LE(seen.size(), 2u);
  // Eight threads alive at once hold eight distinct numbers.
  constexpr int kThreads = 8;
  std::atomic<int> arrived{0};
  std::vector<size_t> numbers(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      numbers[t] = ThreadStripe();
      arrived.fetch_add(1);
      while (arrived.load() < kThreads) std::this_thread::yield();
    });
  }
  for (auto& t : threads) t.join();
  std::set<size_t> distinct(numbers.begin(), numbers.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(distinct.count(mine), 0u);
}

}  // namespace
}  // namespace keyward
