// Referrer restrictions. An entry with "://" is a wildcard over the whole
// referrer URL ("https://app.example.com/*"); otherwise it names a host,
// "example.com" exactly or "*.example.com" for any subdomain of it.
// Host names compare case-insensitively. Thread-safe: immutable after Parse.
#ifndef KEYWARD_CORE_REFERRER_PATTERN_H_
#define KEYWARD_CORE_REFERRER_PATTERN_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace keyward {

class ReferrerPattern {
 public:
  static Result<ReferrerPattern> Parse(std::string_view text);
  bool Matches(std::string_view referrer) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  bool url_pattern_ = false;
};

// The lower-cased host of a URL ("https://App.Example.com:8443/x" ->
// "app.example.com"); empty when there is none.
std::string ReferrerHost(std::string_view url);

}  // namespace keyward

#endif  // KEYWARD_CORE_REFERRER_PATTERN_H_
