// Retry-After as the sender reads it: seconds, an HTTP date, garbage.
#include "webhooks/sender.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

// Wed, 21 Oct 2015 07:28:00 GMT
constexpr int64_t kDate = 1445412480;

TEST(ParseRetryAfterTest, Seconds) {
  EXPECT_EQ(ParseRetryAfter("120", 0), 120);
  EXPECT_EQ(ParseRetryAfter("0", 0), 0);
  EXPECT_EQ(ParseRetryAfter(" 7 ", 0), 7);
  EXPECT_EQ(ParseRetryAfter("3600", kDate), 3600);
  // Absurdly long numbers are clamped, never overflow.
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", 0), 999'999'999);
}

TEST(ParseRetryAfterTest, HttpDate) {
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate - 90), 90);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate), 0);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate + 3600), 0);  // past
}

TEST(ParseRetryAfterTest, GarbageIsNothing) {
  for (const char* bad :
       {"", "   ", "soon", "-5", "+5", "1.5", "120abc", "12 0", "0x10",
        "Wed, 21 Oct 2015 07:28:00 GMT trailing", "Wed, 21 Oct 2015", "2015-10-21T07:28:00Z"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, kDate).has_value()) << bad;
  }
}

}  // namespace
}  // namespace keyward
