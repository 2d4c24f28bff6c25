// Referrer restrictions. An entry names a host, "example.com" exactly or
// "*.example.com" for any subdomain of it (whole DNS labels, any scheme and
// port), or is a URL pattern "https://app.example.com/settings/**": a
// scheme, a host (whose first label may be "*", standing for one or more
// whole labels), an optional port ("*" for any; none: the default port
// only) and an optional path (as endpoint paths: "*" within a segment,
// "**" for whole segments; none: any path). Query and fragment never take
// part. Referrers are read strictly: one with user info, a backslash, a
// space, an escaped host or a path two parsers could read differently
// matches no pattern that looks at those parts.
// Host names compare case-insensitively. Thread-safe: immutable after Parse.
#ifndef KEYWARD_CORE_REFERRER_PATTERN_H_
#define KEYWARD_CORE_REFERRER_PATTERN_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/glob.h"
#include "core/status.h"

namespace keyward {

// A referrer URL as patterns read it; see ParseReferrer.
struct ReferrerUrl {
  std::string scheme;     // lower-cased
  std::string host;       // lower-cased; IPv6 in brackets
  std::string port;       // digits; empty when none was given
  std::string_view path;  // canonical, or empty when it is not (see path_ok)
  bool path_ok = false;   // whether the path is canonical
};

// nullopt when url is not an absolute http(s)-style URL with a plain host.
std::optional<ReferrerUrl> ParseReferrer(std::string_view url);

class ReferrerPattern {
 public:
  static Result<ReferrerPattern> Parse(std::string_view text);
  bool Matches(std::string_view referrer) const;
  bool Matches(const ReferrerUrl& url) const;
  // Whether every referrer this pattern matches, other matches too (exact
  // for patterns without wildcards; equal patterns otherwise).
  bool IsWithin(const ReferrerPattern& other) const;
  const std::string& text() const { return text_; }

 private:
  bool HostMatches(std::string_view host) const;
  bool HostWithin(const ReferrerPattern& other) const;
  std::string text_;  // canonical text
  bool url_pattern_ = false;
  std::string scheme_;  // URL patterns
  std::string host_;    // without a leading "*."
  bool any_subdomain_ = false;
  std::string port_;  // "", digits or "*"
  bool any_path_ = true;
  std::string path_text_;
  PathGlob path_{"/"};
};

// The lower-cased host of a URL ("https://App.Example.com:8443/x" ->
// "app.example.com"); empty when there is none or it is not read plainly.
std::string ReferrerHost(std::string_view url);

}  // namespace keyward

#endif  // KEYWARD_CORE_REFERRER_PATTERN_H_
