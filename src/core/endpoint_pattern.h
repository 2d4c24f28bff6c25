// Endpoint restrictions: "GET /v1/products/*", "GET,POST /v1/orders/**",
// "* /v1/**" or a bare path (any method).
// In a path, "*" matches within one segment and a whole "**" segment any
// number of segments (core/glob.h). A pattern is written in canonical form
// (core/request_path.h) and matches only requests whose path is already in
// canonical form: "/v1/products/../admin" or "/v1/products/%2e%2e/admin" is
// not read as something else that might match, it matches nothing.
// Thread-safe: immutable after Parse.
#ifndef KEYWARD_CORE_ENDPOINT_PATTERN_H_
#define KEYWARD_CORE_ENDPOINT_PATTERN_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/glob.h"
#include "core/status.h"

namespace keyward {

class EndpointPattern {
 public:
  static Result<EndpointPattern> Parse(std::string_view text);

  // segments: of a canonical path (CheckCanonicalPath, then
  // SplitPathSegments). steps, when set, adds up the work done.
  bool Matches(std::string_view method, std::span<const std::string_view> segments,
               size_t* steps = nullptr) const;
  // The same for a whole request target; false unless it is canonical.
  bool MatchesTarget(std::string_view method, std::string_view target) const;

  // Whether every request this pattern matches, other matches too. Exact for
  // patterns without wildcards; otherwise true only when both say the same.
  bool IsWithin(const EndpointPattern& other) const;

  std::string ToString() const;

 private:
  bool MethodAllowed(std::string_view method) const;
  std::vector<std::string> methods_;  // empty: any method
  std::string path_;
  PathGlob glob_{"/"};
};

}  // namespace keyward

#endif  // KEYWARD_CORE_ENDPOINT_PATTERN_H_
