#include "core/time_format.h"

#include <gtest/gtest.h>

#include <vector>

namespace keyward {
namespace {

TEST(TimeFormatTest, FormatsUtc) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1735689600000), "2025-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1736937000250), "2025-01-15T10:30:00.250Z");
}

// The cached form writes exactly what FormatRfc3339 does: across second,
// day and year boundaries, whole seconds (no fraction), and times before
// 1970, in any order of calls.
TEST(TimeFormatTest, AppendRfc3339MatchesFormatRfc3339) {
  std::vector<Timestamp> times = {0,
                                  1,
                                  999,
                                  1000,
                                  1001,
                                  -1,
                                  -999,
                                  -1000,
                                  -1001,
                                  1'700'000'000'000,
                                  1'700'000'000'999,
                                  1'700'000'001'000,
                                  1'703'980'799'999,
                                  1'703'980'800'000,
                                  253'402'300'799'999};
  for (Timestamp t = 1'700'000'000'000; t < 1'700'000'003'000; t += 7) times.push_back(t);
  for (Timestamp t = 1'700'000'003'000; t > 1'700'000'000'000; t -= 333) times.push_back(t);
  for (const Timestamp t : times) {
    std::string out = "x";
    AppendRfc3339(out, t);
    EXPECT_EQ(out, "x" + FormatRfc3339(t)) << t;
  }
}

TEST(TimeFormatTest, ParsesWhatItFormats) {
  for (Timestamp t : {Timestamp{0}, Timestamp{1735689600000}, Timestamp{1736937000250},
                      Timestamp{951782400000} /* 2000-02-29 */}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(t)), t) << FormatRfc3339(t);
  }
}

TEST(TimeFormatTest, ParsesOffsetsAndFractions) {
  EXPECT_EQ(ParseRfc3339("2025-01-01T01:00:00+01:00"), 1735689600000);
  EXPECT_EQ(ParseRfc3339("2024-12-31T19:00:00-05:00"), 1735689600000);
  EXPECT_EQ(ParseRfc3339("2025-01-01t00:00:00.5z"), 1735689600500);
  EXPECT_EQ(ParseRfc3339("2025-01-01T00:00:00.123456789Z"), 1735689600123);
}

TEST(TimeFormatTest, RefusesWhatIsNotATime) {
  for (const char* bad :
       {"", "2025-01-01", "2025-01-01T00:00:00", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
        "2025-01-01T24:00:00Z", "2025-01-01T00:00:00Zjunk", "2025-01-01T00:00:00.Z", "tomorrow",
        "2025-1-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace keyward
