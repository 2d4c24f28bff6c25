#include "core/billing_period.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace keyward {
namespace {

Timestamp T(const char* text) { return *ParseRfc3339(text); }
std::string S(Timestamp t) { return FormatRfc3339(t); }

TEST(BillingPeriodTest, CalendarMonthRunsFromTheFirstToTheFirst) {
  const Period p = MonthlyPeriod(T("2026-02-14T13:00:00Z"), std::nullopt);
  EXPECT_EQ(S(p.start), "2026-02-01T00:00:00Z");
  EXPECT_EQ(S(p.end), "2026-03-01T00:00:00Z");
  // The last millisecond of a month is in it; the next is not.
  EXPECT_EQ(S(MonthlyPeriod(T("2026-02-28T23:59:59.999Z"), {}).start), "2026-02-01T00:00:00Z");
  EXPECT_EQ(S(MonthlyPeriod(T("2026-03-01T00:00:00Z"), {}).start), "2026-03-01T00:00:00Z");
  // December rolls into the next year.
  EXPECT_EQ(S(MonthlyPeriod(T("2026-12-31T10:00:00Z"), {}).end), "2027-01-01T00:00:00Z");
}

TEST(BillingPeriodTest, AnAnchorDayStartsThePeriodOnItAndBeforeItBelongsToLastMonth) {
  Period p = MonthlyPeriod(T("2026-05-20T08:00:00Z"), 15);
  EXPECT_EQ(S(p.start), "2026-05-15T00:00:00Z");
  EXPECT_EQ(S(p.end), "2026-06-15T00:00:00Z");
  p = MonthlyPeriod(T("2026-05-14T23:00:00Z"), 15);
  EXPECT_EQ(S(p.start), "2026-04-15T00:00:00Z");
  EXPECT_EQ(S(p.end), "2026-05-15T00:00:00Z");
  p = MonthlyPeriod(T("2026-01-03T00:00:00Z"), 20);
  EXPECT_EQ(S(p.start), "2025-12-20T00:00:00Z");
}

TEST(BillingPeriodTest, AnAnchorPastAShortMonthsEndStartsOnItsLastDay) {
  // The 31st: February's period starts on the 28th (29th in a leap year).
  Period p = MonthlyPeriod(T("2026-03-10T00:00:00Z"), 31);
  EXPECT_EQ(S(p.start), "2026-02-28T00:00:00Z");
  EXPECT_EQ(S(p.end), "2026-03-31T00:00:00Z");
  p = MonthlyPeriod(T("2028-02-29T12:00:00Z"), 31);
  EXPECT_EQ(S(p.start), "2028-02-29T00:00:00Z");
  EXPECT_EQ(S(p.end), "2028-03-31T00:00:00Z");
  p = MonthlyPeriod(T("2026-04-30T00:00:00Z"), 31);
  EXPECT_EQ(S(p.start), "2026-04-30T00:00:00Z");
  EXPECT_EQ(S(p.end), "2026-05-31T00:00:00Z");
}

TEST(BillingPeriodTest, PeriodsTileTime) {
  // Every instant is in exactly one period, and each ends where the next begins.
  for (int anchor : {1, 15, 28, 29, 30, 31}) {
    Timestamp t = T("2025-11-01T00:00:00Z");
    Period prev = MonthlyPeriod(t, anchor);
    for (int i = 0; i < 40; ++i) {
      const Period next = MonthlyPeriod(prev.end, anchor);
      ASSERT_EQ(next.start, prev.end) << "anchor " << anchor << " at " << S(prev.end);
      ASSERT_GT(next.end, next.start);
      ASSERT_EQ(MonthlyPeriod(prev.end - 1, anchor).start, prev.start);
      prev = next;
    }
  }
}

TEST(BillingPeriodTest, DailyPeriodIsTheUtcDay) {
  const Period p = DailyPeriod(T("2026-07-04T23:59:59Z"));
  EXPECT_EQ(S(p.start), "2026-07-04T00:00:00Z");
  EXPECT_EQ(S(p.end), "2026-07-05T00:00:00Z");
}

TEST(BillingPeriodTest, KeyCreditsWithoutRefillNeverReset) {
  KeyCredits c;
  c.remaining = 1000;
  c.set_at = T("2026-03-05T10:00:00Z");
  const KeyBalance b = KeyBalanceAt(c, T("2027-09-01T00:00:00Z"));
  EXPECT_EQ(b.limit, 1000);
  EXPECT_EQ(b.period.start, c.set_at);
  EXPECT_EQ(b.period.end, 0);
}

TEST(BillingPeriodTest, KeyCreditsAsSetLastUntilTheFirstRefillThenTheRefillAmount) {
  KeyCredits c;
  c.remaining = 7;
  c.set_at = T("2026-03-05T10:00:00Z");
  c.refill = KeyCredits::Refill{100, KeyCredits::Interval::kDaily, 1};
  KeyBalance b = KeyBalanceAt(c, T("2026-03-05T20:00:00Z"));
  EXPECT_EQ(b.limit, 7);
  EXPECT_EQ(b.period.start, c.set_at);
  EXPECT_EQ(S(b.period.end), "2026-03-06T00:00:00Z");
  b = KeyBalanceAt(c, T("2026-03-06T00:00:00Z"));
  EXPECT_EQ(b.limit, 100);
  EXPECT_EQ(S(b.period.start), "2026-03-06T00:00:00Z");
  EXPECT_EQ(S(b.period.end), "2026-03-07T00:00:00Z");

  c.refill = KeyCredits::Refill{500, KeyCredits::Interval::kMonthly, 10};
  b = KeyBalanceAt(c, T("2026-03-09T00:00:00Z"));
  EXPECT_EQ(b.limit, 7);
  EXPECT_EQ(S(b.period.end), "2026-03-10T00:00:00Z");
  b = KeyBalanceAt(c, T("2026-04-01T00:00:00Z"));
  EXPECT_EQ(b.limit, 500);
  EXPECT_EQ(S(b.period.start), "2026-03-10T00:00:00Z");
  EXPECT_EQ(S(b.period.end), "2026-04-10T00:00:00Z");
}

}  // namespace
}  // namespace keyward
