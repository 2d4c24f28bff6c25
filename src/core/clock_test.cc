#include "core/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace keyward {
namespace {

constexpr Timestamp kHour = 3600 * kMillisPerSecond;
constexpr Timestamp kDay = 24 * kHour;

TEST(ManualClockTest, AdvanceMovesBothClocksAJumpOnlyTheWall) {
  ManualClock clock;
  const Timestamp wall = clock.Now();
  const Timestamp mono = clock.Monotonic();
  clock.Advance(1500);
  EXPECT_EQ(clock.Now(), wall + 1500);
  EXPECT_EQ(clock.Monotonic(), mono + 1500);
  clock.Set(wall - kDay);
  EXPECT_EQ(clock.Now(), wall - kDay);
  EXPECT_EQ(clock.Monotonic(), mono + 1500);
  clock.JumpWall(2 * kDay);
  EXPECT_EQ(clock.Now(), wall + kDay);
  EXPECT_EQ(clock.Monotonic(), mono + 1500);
}

TEST(SystemClockTest, MonotonicNeverGoesBack) {
  const Clock& clock = SystemClock::Get();
  Timestamp last = clock.Monotonic();
  for (int i = 0; i < 10000; ++i) {
    const Timestamp t = clock.Monotonic();
    ASSERT_GE(t, last);
    last = t;
  }
}

TEST(NonDecreasingClockTest, HoldsStillWhenTheBaseGoesBack) {
  ManualClock base;
  const Timestamp t0 = base.Now();
  NonDecreasingClock clock(&base);
  EXPECT_EQ(clock.Now(), t0);
  EXPECT_EQ(clock.HeldBackMillis(), 0);
  base.Advance(1000);
  EXPECT_EQ(clock.Now(), t0 + 1000);
  base.JumpWall(-kHour);
  EXPECT_EQ(clock.Now(), t0 + 1000) << "a clock set back went back";
  EXPECT_EQ(clock.HeldBackMillis(), kHour);
  // Until the base catches up, wall time holds still; then it follows.
  base.Advance(kHour - 1);
  EXPECT_EQ(clock.Now(), t0 + 1000);
  EXPECT_EQ(clock.HeldBackMillis(), 1);
  base.Advance(2);
  EXPECT_EQ(clock.Now(), t0 + 1001);
  EXPECT_EQ(clock.HeldBackMillis(), 0);
  // Monotonic time is the base's, jumps or not.
  EXPECT_EQ(clock.Monotonic(), base.Monotonic());
}

TEST(NonDecreasingClockTest, KeepsAForwardJump) {
  ManualClock base;
  const Timestamp t0 = base.Now();
  NonDecreasingClock clock(&base);
  base.JumpWall(kDay);
  EXPECT_EQ(clock.Now(), t0 + kDay);
  base.Set(t0);  // corrected
  EXPECT_EQ(clock.Now(), t0 + kDay);
  // The mark is the object's: a new one (a restart) starts from the base.
  NonDecreasingClock restarted(&base);
  EXPECT_EQ(restarted.Now(), t0);
}

// Two threads read while a third sets the base back and forth by an hour
// (and reads it, so the mark rises every round): no reader ever sees wall
// time go down. (Also run under ThreadSanitizer.)
TEST(NonDecreasingClockTest, NeverDecreasesUnderThreads) {
  ManualClock base;
  const Timestamp t0 = base.Now();
  NonDecreasingClock clock(&base);
  std::atomic<bool> done{false};
  std::atomic<int> decreases{0};
  auto read = [&] {
    Timestamp last = clock.Now();
    // At least as many readings as the setter makes, then until it is done.
    for (int i = 0; i < 20000 || !done.load(std::memory_order_acquire); ++i) {
      const Timestamp t = clock.Now();
      if (t < last) decreases.fetch_add(1, std::memory_order_relaxed);
      last = t;
    }
  };
  std::thread a(read), b(read);
  for (Timestamp i = 1; i <= 20000; ++i) {
    base.Set(t0 + kHour + i);
    // Read while the base is ahead, so that the mark rises every round.
    EXPECT_EQ(clock.Now(), t0 + kHour + i);
    base.Set(t0 - kHour);
  }
  done.store(true, std::memory_order_release);
  a.join();
  b.join();
  EXPECT_EQ(decreases.load(), 0);
  EXPECT_EQ(clock.Now(), t0 + kHour + 20000);
}

TEST(ClockJumpDetectorTest, ReportsEachJumpOnceWithItsSize) {
  ManualClock clock;
  ClockJumpDetector detector(&clock);
  EXPECT_EQ(detector.Poll(), std::nullopt);
  clock.Advance(200);
  EXPECT_EQ(detector.Poll(), std::nullopt) << "time passing is not a jump";
  clock.Advance(200);
  clock.JumpWall(kDay);
  EXPECT_EQ(detector.Poll(), kDay);
  clock.Advance(200);
  EXPECT_EQ(detector.Poll(), std::nullopt) << "the same jump was reported twice";
  clock.JumpWall(-kHour);
  clock.Advance(200);
  EXPECT_EQ(detector.Poll(), -kHour);
  EXPECT_EQ(detector.Poll(), std::nullopt);
}

TEST(ClockJumpDetectorTest, ThresholdIsTwoSeconds) {
  ManualClock clock;
  ClockJumpDetector detector(&clock);
  clock.Advance(200);
  clock.JumpWall(1999);
  EXPECT_EQ(detector.Poll(), std::nullopt);
  clock.JumpWall(-1999);
  EXPECT_EQ(detector.Poll(), std::nullopt);
  clock.JumpWall(2000);
  EXPECT_EQ(detector.Poll(), 2000);
  clock.JumpWall(-2000);
  EXPECT_EQ(detector.Poll(), -2000);
  // A slow adjustment (NTP slewing) never adds up to a jump.
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(200);
    clock.JumpWall(1);
    EXPECT_EQ(detector.Poll(), std::nullopt);
  }
}

TEST(ClockJumpDetectorTest, SeesThroughANonDecreasingClockOnlyByItsBase) {
  ManualClock base;
  NonDecreasingClock clock(&base);
  ClockJumpDetector on_base(&clock.base());
  ClockJumpDetector on_wrapper(&clock);
  base.Advance(200);
  base.JumpWall(-kHour);
  EXPECT_EQ(on_base.Poll(), -kHour);
  // The wrapper hides a step back: it holds still, which is no jump.
  EXPECT_EQ(on_wrapper.Poll(), std::nullopt);
}

}  // namespace
}  // namespace keyward
