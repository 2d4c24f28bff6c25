// Leaked keys: what keyward does when someone reports that keys of this
// deployment were seen in public (a person, `keyward scan --report`, or
// GitHub's secret scanning). Each reported string is checked as a key of
// this deployment (its format and checksum, then its hash), never trusted
// for its shape alone, and the answer never holds the string back.
// Thread-safe: plain values (KeyService::ReportLeaks does the work).
#ifndef KEYWARD_CORE_LEAKS_H_
#define KEYWARD_CORE_LEAKS_H_

#include <string>

namespace keyward {

inline constexpr size_t kMaxLeakReportKeys = 1000;
inline constexpr size_t kMaxLeakFieldBytes = 2048;  // source, url

enum class LeakPolicy {
  kRevoke,  // revoke an active key at once (reason "leaked") and tell
  kNotify,  // only tell: api_key.leaked and an audit entry
};

struct LeakReport {
  std::string source;  // where it was found ("github", "paste bin", …); may be empty
  std::string url;     // where exactly; may be empty
  LeakPolicy policy = LeakPolicy::kRevoke;
};

struct LeakResult {
  // The key's short prefix when the string has this deployment's shape,
  // else empty (a string that is no key of ours is not quoted at all).
  std::string short_prefix;
  bool true_positive = false;  // a key this deployment issued or imported
  std::string action;          // "revoked", "notified" or "none"
  std::string key_id;          // of a true positive
  // Why the action is "none": "not_a_key", "unknown_key",
  // "already_revoked", "expired", "already_reported".
  std::string reason;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_LEAKS_H_
