// Endpoint and referrer patterns, and the request paths they are matched
// against. Input: a pattern line, then a request target, then a referrer
// pattern, then a referrer, separated by newlines. A normalised path starts
// with "/", has no "." or ".." segment left and normalises to itself.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/endpoint_pattern.h"
#include "core/referrer_pattern.h"
#include "fuzz/harness.h"

using keyward::EndpointPattern;
using keyward::NormalizeRequestPath;
using keyward::ReferrerPattern;

namespace {

std::string_view NextLine(std::string_view* rest) {
  const size_t nl = rest->find('\n');
  std::string_view line = rest->substr(0, nl);
  rest->remove_prefix(nl == std::string_view::npos ? rest->size() : nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view pattern_text = NextLine(&rest);
  const std::string_view target = NextLine(&rest);
  const std::string_view referrer_pattern_text = NextLine(&rest);
  const std::string_view referrer = NextLine(&rest);

  const std::string path = NormalizeRequestPath(target);
  const std::string what = std::string(target) + " -> " + path;
  FUZZ_CHECK(path.starts_with("/"), what);
  FUZZ_CHECK(NormalizeRequestPath(path) == path, what + " is not stable");
  FUZZ_CHECK(path.find("/../") == std::string::npos && !path.ends_with("/.."), what);
  FUZZ_CHECK(path.find("/./") == std::string::npos && !path.ends_with("/."), what);

  auto pattern = EndpointPattern::Parse(pattern_text);
  if (pattern.ok()) {
    const std::string canonical = pattern->ToString();
    auto again = EndpointPattern::Parse(canonical);
    FUZZ_CHECK(again.ok(), std::string(pattern_text) + " -> " + canonical + " does not parse");
    FUZZ_CHECK(again->ToString() == canonical, canonical);
    for (const char* method : {"GET", "POST", "DELETE"}) {
      FUZZ_CHECK(pattern->Matches(method, path) == again->Matches(method, path),
                 canonical + " and " + std::string(pattern_text) + " disagree on " + path);
    }
  }

  auto referrer_pattern = ReferrerPattern::Parse(referrer_pattern_text);
  if (referrer_pattern.ok()) {
    (void)referrer_pattern->Matches(referrer);
  }
  (void)keyward::ReferrerHost(referrer);
  return 0;
}
