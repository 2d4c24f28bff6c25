// RFC 3339 timestamps as the API writes and reads them.
// Thread-safe: pure functions.
#ifndef KEYWARD_CORE_TIME_FORMAT_H_
#define KEYWARD_CORE_TIME_FORMAT_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace keyward {

// "2025-01-15T10:30:00Z", or "2025-01-15T10:30:00.250Z" when the time has
// milliseconds.
std::string FormatRfc3339(Timestamp t);
// Appends FormatRfc3339(t) to out. The text up to the seconds is kept per
// thread and rebuilt once a second, as nginx caches its time strings: for
// the access log, where formatting a date per request was a visible share
// of a request's time.
void AppendRfc3339(std::string& out, Timestamp t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t' and 'z' too,
// a space for 'T'). Fractions past milliseconds are truncated. Nullopt when the
// text is not such a time or the date does not exist.
std::optional<Timestamp> ParseRfc3339(std::string_view text);

}  // namespace keyward

#endif  // KEYWARD_CORE_TIME_FORMAT_H_
