#include "core/billing_period.h"

#include <algorithm>

namespace keyward {
namespace {

constexpr Timestamp kMillisPerDay = 86'400'000;

// Howard Hinnant's civil-date algorithms (proleptic Gregorian, UTC).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// 00:00 UTC on the anchor day of month m of year y (clamped to its end).
Timestamp AnchorIn(int64_t y, int m, int anchor) {
  const int day = std::min(anchor, DaysInMonth(y, m));
  return DaysFromCivil(y, m, day) * kMillisPerDay;
}

void NextMonth(int64_t* y, int* m) {
  if (++*m > 12) {
    *m = 1;
    ++*y;
  }
}

void PreviousMonth(int64_t* y, int* m) {
  if (--*m < 1) {
    *m = 12;
    --*y;
  }
}

}  // namespace

Period MonthlyPeriod(Timestamp t, std::optional<int> anchor_day) {
  const int anchor = std::clamp(anchor_day.value_or(1), 1, 31);
  int64_t y;
  int m, d;
  CivilFromDays(FloorDiv(t, kMillisPerDay), &y, &m, &d);
  Timestamp start = AnchorIn(y, m, anchor);
  if (start > t) {
    PreviousMonth(&y, &m);
    start = AnchorIn(y, m, anchor);
  }
  NextMonth(&y, &m);
  return Period{start, AnchorIn(y, m, anchor)};
}

Period DailyPeriod(Timestamp t) {
  const Timestamp start = FloorDiv(t, kMillisPerDay) * kMillisPerDay;
  return Period{start, start + kMillisPerDay};
}

KeyBalance KeyBalanceAt(const KeyCredits& credits, Timestamp t) {
  if (!credits.refill) return KeyBalance{Period{credits.set_at, 0}, credits.remaining};
  const Period refill = credits.refill->interval == KeyCredits::Interval::kDaily
                            ? DailyPeriod(t)
                            : MonthlyPeriod(t, credits.refill->day);
  if (refill.start <= credits.set_at) {
    // Set during this refill period: what was set lasts until its end.
    return KeyBalance{Period{credits.set_at, refill.end}, credits.remaining};
  }
  return KeyBalance{refill, credits.refill->amount};
}

}  // namespace keyward
