#include "core/epoch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace keyward {
namespace {

// Counts its own destruction; a use after free trips ASan, and a read of a
// destroyed one sees a poisoned value.
struct Tracked {
  explicit Tracked(std::atomic<int>* freed, uint64_t v) : freed(freed), value(v) {}
  ~Tracked() {
    value = 0;
    freed->fetch_add(1);
  }
  std::atomic<int>* freed;
  uint64_t value;
};

void Drain() {
  for (int i = 0; i < 4 && EpochDomain::Get().Pending() > 0; ++i) EpochDomain::Get().Reclaim();
}

TEST(EpochTest, NothingRetiredIsFreedWhileAGuardFromBeforeLives) {
  Drain();
  std::atomic<int> freed{0};
  std::atomic<bool> entered{false}, release{false};
  std::thread reader([&] {
    EpochGuard g = EpochDomain::Get().Enter();
    entered = true;
    while (!release.load()) std::this_thread::yield();
  });
  while (!entered.load()) std::this_thread::yield();
  EpochDomain::Get().RetireObject(new Tracked(&freed, 1));
  for (int i = 0; i < 10; ++i) EpochDomain::Get().Reclaim();
  EXPECT_EQ(freed.load(), 0) << "freed under a guard that began before it was retired";
  release = true;
  reader.join();
  Drain();
  EXPECT_EQ(freed.load(), 1) << "not freed once the guard ended";
}

TEST(EpochTest, WithNoGuardHeldRetiredObjectsGoAtTheNextReclaim) {
  Drain();
  std::atomic<int> freed{0};
  for (int i = 0; i < 10; ++i) EpochDomain::Get().RetireObject(new Tracked(&freed, 1));
  EpochDomain::Get().Reclaim();
  EXPECT_EQ(freed.load(), 10);
  EXPECT_EQ(EpochDomain::Get().Pending(), 0u);
}

TEST(EpochTest, GuardsNestAndMoveAndOnlyTheLastEndReleases) {
  Drain();
  std::atomic<int> freed{0};
  EpochGuard outer = EpochDomain::Get().Enter();
  {
    EpochGuard inner = EpochDomain::Get().Enter();
    EpochDomain::Get().RetireObject(new Tracked(&freed, 1));
  }
  EpochDomain::Get().Reclaim();
  EXPECT_EQ(freed.load(), 0) << "the outer guard still holds";
  EpochGuard moved = std::move(outer);
  EXPECT_FALSE(outer.active());
  EXPECT_TRUE(moved.active());
  EpochDomain::Get().Reclaim();
  EXPECT_EQ(freed.load(), 0) << "a moved guard still holds";
  moved = EpochGuard();
  Drain();
  EXPECT_EQ(freed.load(), 1);
}

// Readers follow a pointer that a writer keeps replacing and retiring (run
// under TSan and ASan): no reader ever sees a freed object, and every
// retired one is freed in the end.
TEST(EpochTest, ReadersNeverSeeWhatWritersRetireAndAllOfItIsFreed) {
  Drain();
  std::atomic<int> freed{0};
  std::atomic<Tracked*> current{new Tracked(&freed, 1)};
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      started++;
      while (!stop.load(std::memory_order_relaxed)) {
        EpochGuard g = EpochDomain::Get().Enter();
        const Tracked* p = current.load(std::memory_order_acquire);
        for (int spin = 0; spin < 20; ++spin) {
          if (p->value == 0) bad++;
        }
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  while (started.load() < 3) std::this_thread::yield();
  // At least kSwaps, and on until the readers have read a good deal
  // meanwhile (on a loaded machine they may start late).
  constexpr int kSwaps = 20000;
  int swaps = 0;
  while (swaps < kSwaps || reads.load(std::memory_order_relaxed) < 10000) {
    Tracked* old = current.exchange(new Tracked(&freed, static_cast<uint64_t>(swaps + 2)));
    EpochDomain::Get().RetireObject(old);
    ++swaps;
  }
  stop = true;
  for (auto& r : readers) r.join();
  EpochDomain::Get().RetireObject(current.load());
  Drain();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(reads.load(), 10000u);
  EXPECT_EQ(freed.load(), swaps + 1);
}

// A thread that ends gives its slot back; many short-lived threads do not
// grow the domain without bound, and none of them holds the epoch back.
TEST(EpochTest, ThreadsThatEndNeitherLeakSlotsNorHoldTheEpoch) {
  Drain();
  std::thread([] { EpochGuard g = EpochDomain::Get().Enter(); }).join();
  const size_t slots = EpochDomain::Get().ThreadSlots();
  for (int round = 0; round < 50; ++round) {
    std::thread([] { EpochGuard g = EpochDomain::Get().Enter(); }).join();
  }
  EXPECT_EQ(EpochDomain::Get().ThreadSlots(), slots);
  std::atomic<int> freed{0};
  EpochDomain::Get().RetireObject(new Tracked(&freed, 1));
  Drain();
  EXPECT_EQ(freed.load(), 1);
}

}  // namespace
}  // namespace keyward
