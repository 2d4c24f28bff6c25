// Legacy key formats: shapes of keys that keyward did not issue
// ([[keys.legacy]]), so that keys imported from an operator's old system
// keep working. A legacy format is an anchored regular expression, matched
// by RE2 in time linear in the key's length (never std::regex, which
// backtracks), and the environment its keys belong to: fixed, or taken
// from a capture group.
//
// A match says only that a string has the shape: it carries no checksum,
// so the key is then looked up by its hash like any other, and a key of
// the right shape that was never imported is `invalid`.
//
// Thread-safe: a LegacyFormat is immutable after Create, and RE2 matches
// from any number of threads at once. Copies share one compiled pattern.
#ifndef KEYWARD_CORE_LEGACY_FORMAT_H_
#define KEYWARD_CORE_LEGACY_FORMAT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace keyward {

// As [[keys.legacy]] configures one.
struct LegacyFormatSpec {
  std::string pattern;      // starts with ^ and ends with $
  std::string environment;  // a name of keys.environments, or "$N" for capture group N
  int short_prefix_length = 8;
};

inline constexpr int kMaxLegacyShortPrefixLength = 32;
inline constexpr size_t kMaxLegacyPatternLength = 1024;
// Of what follows a legacy key's prefix, at least this many characters (and
// a third) are never shown, whatever short_prefix_length says.
inline constexpr size_t kMinHiddenChars = 8;

class LegacyFormat {
 public:
  // environments: the deployment's (keys.environments); a fixed environment
  // must be one of them, and a captured one must be at match time.
  // InvalidRequest, saying what is wrong, for a pattern that does not
  // compile, is not anchored at both ends, matches the empty string, or
  // names a capture group it does not have, has an anchor inside it
  // ("^a$|^b$": write "^(?:a|b)$"), or matches one string only.
  static Result<LegacyFormat> Create(const LegacyFormatSpec& spec,
                                     const std::vector<std::string>& environments);

  // Whether key has this shape, with an environment of the deployment.
  // Then *environment is that environment and *short_prefix what lists show
  // of the key: its prefix (see Create) and short_prefix_length characters
  // after it, but never more than leaves kMinHiddenChars, and a third of
  // what follows the prefix, hidden. Both view key or this format, and live as long as both do.
  bool Match(std::string_view key, std::string_view* environment,
             std::string_view* short_prefix) const;

  // Where the first string of this shape starts in text, found anywhere
  // between characters that could not continue a key (not a letter, digit,
  // _ or -), with its length; npos when none.
  size_t Find(std::string_view text, size_t* length) const;

  const std::string& pattern() const;

 private:
  struct Impl;
  explicit LegacyFormat(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_LEGACY_FORMAT_H_
