// Endpoint restrictions: "GET /v1/products/*", "GET,POST /v1/orders/**",
// "* /v1/**" or a bare path (any method).
// In a path, "*" matches within one segment and "**" across segments. A
// request path is normalised first (query dropped, %-encoded unreserved
// characters decoded, "." and ".." segments resolved) so "/v1/products/../admin"
// cannot slip past "GET /v1/products/**".
// Thread-safe: immutable after Parse.
#ifndef KEYWARD_CORE_ENDPOINT_PATTERN_H_
#define KEYWARD_CORE_ENDPOINT_PATTERN_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace keyward {

class EndpointPattern {
 public:
  static Result<EndpointPattern> Parse(std::string_view text);

  // path must come from NormalizeRequestPath.
  bool Matches(std::string_view method, std::string_view path) const;

  std::string ToString() const;

 private:
  std::vector<std::string> methods_;  // empty: any method
  std::string path_;
};

// The path of a request target, ready to match: "/a/./b/../c?x=1" -> "/a/c".
std::string NormalizeRequestPath(std::string_view target);

}  // namespace keyward

#endif  // KEYWARD_CORE_ENDPOINT_PATTERN_H_
