// Credit periods on the UTC calendar: the month a workspace's allowance
// runs for (from the first of the month, or from its billing anchor day),
// and the day or month after which a key's credits are refilled.
// Thread-safe: pure functions.
#ifndef KEYWARD_CORE_BILLING_PERIOD_H_
#define KEYWARD_CORE_BILLING_PERIOD_H_

#include <optional>

#include "core/clock.h"
#include "core/model.h"

namespace keyward {

struct Period {
  Timestamp start = 0;  // inclusive
  Timestamp end = 0;    // exclusive: when the next period starts
};

// The monthly period that holds t: it starts at 00:00 UTC on anchor_day
// (1-31) of a month, or on that month's last day when the month is
// shorter; no anchor: on the 1st.
Period MonthlyPeriod(Timestamp t, std::optional<int> anchor_day);

// The UTC day that holds t.
Period DailyPeriod(Timestamp t);

// A key's credit balance at t: the period its credits run for and what it
// allows. Before the first refill after set_at, the balance is remaining
// as set, from set_at; from then on, refill.amount per refill period.
// Without a refill, one period from set_at that never ends (end = 0).
struct KeyBalance {
  Period period;
  int64_t limit = 0;
};
KeyBalance KeyBalanceAt(const KeyCredits& credits, Timestamp t);

}  // namespace keyward

#endif  // KEYWARD_CORE_BILLING_PERIOD_H_
