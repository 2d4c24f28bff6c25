// Endpoint and referrer patterns, and the request paths they are matched
// against. Input: a pattern line, then a request target, then a referrer
// pattern, then a referrer, separated by newlines.
// Checks: a path CheckCanonicalPath accepts is final (checking it again
// changes nothing), and every way a server reads paths (nginx: decode,
// merge slashes, resolve dots; RFC 3986: resolve dots, then decode; a
// server that decodes, reads "\" as "/" and resolves) reads it as plain
// percent-decoding does, so no two parsers disagree about it. A pattern
// reparses to itself and decides any input within a bounded number of
// steps, linear in the input.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint_pattern.h"
#include "core/glob.h"
#include "core/referrer_pattern.h"
#include "core/request_path.h"
#include "fuzz/harness.h"

using keyward::EndpointPattern;
using keyward::PathProblem;
using keyward::ReferrerPattern;

namespace {

std::string_view NextLine(std::string_view* rest) {
  const size_t nl = rest->find('\n');
  std::string_view line = rest->substr(0, nl);
  rest->remove_prefix(nl == std::string_view::npos ? rest->size() : nl + 1);
  return line;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// RFC 3986 §5.2.4, on whole segments.
std::string RemoveDotSegments(std::string_view path, bool merge_slashes) {
  std::vector<std::string_view> out;
  std::string_view rest = path.substr(1);
  bool trailing = false;
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    trailing = false;
    if (seg == ".") {
      trailing = last;
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing = last;
    } else if (!(merge_slashes && seg.empty() && !last)) {
      out.push_back(seg);
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string s;
  for (auto seg : out) s += "/" + std::string(seg);
  if (s.empty() || trailing) s += "/";
  return s;
}

std::string NginxReading(std::string_view path) { return RemoveDotSegments(Decode(path), true); }
std::string Rfc3986Reading(std::string_view path) { return Decode(RemoveDotSegments(path, false)); }
std::string DecodeFirstReading(std::string_view path) {
  std::string d = Decode(path);
  for (char& c : d) {
    if (c == '\\') c = '/';
  }
  return RemoveDotSegments(d, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view pattern_text = NextLine(&rest);
  const std::string_view target = NextLine(&rest);
  const std::string_view referrer_pattern_text = NextLine(&rest);
  const std::string_view referrer = NextLine(&rest);

  std::string_view path;
  const PathProblem problem = keyward::CheckCanonicalPath(target, &path);
  std::vector<std::string_view> segments;
  if (problem == PathProblem::kNone) {
    const std::string what = "accepted " + std::string(target);
    std::string_view again;
    FUZZ_CHECK(keyward::CheckCanonicalPath(path, &again) == PathProblem::kNone && again == path,
               what + " is not final");
    const std::string plain = Decode(path);
    FUZZ_CHECK(NginxReading(path) == plain, what + ": nginx reads " + NginxReading(path));
    FUZZ_CHECK(Rfc3986Reading(path) == plain, what + ": RFC 3986 reads " + Rfc3986Reading(path));
    FUZZ_CHECK(DecodeFirstReading(path) == plain,
               what + ": a decode-first server reads " + DecodeFirstReading(path));
    keyward::SplitPathSegments(path, &segments);
  }

  auto pattern = EndpointPattern::Parse(pattern_text);
  if (pattern.ok()) {
    const std::string canonical = pattern->ToString();
    auto again = EndpointPattern::Parse(canonical);
    FUZZ_CHECK(again.ok(), std::string(pattern_text) + " -> " + canonical + " does not parse");
    FUZZ_CHECK(again->ToString() == canonical, canonical);
    if (problem == PathProblem::kNone) {
      std::vector<std::string_view> pattern_segments;
      keyward::SplitPathSegments(canonical.substr(canonical.find(' ') + 1), &pattern_segments);
      const size_t m = pattern_segments.size(), n = segments.size();
      const size_t bound =
          (m + 1) * (path.size() + n + 1) + (n + m + 1) * (canonical.size() + m + 1);
      for (const char* method : {"GET", "POST", "DELETE"}) {
        size_t steps = 0;
        const bool a = pattern->Matches(method, segments, &steps);
        FUZZ_CHECK(steps <= bound, canonical + " took " + std::to_string(steps) +
                                       " steps on a path of " + std::to_string(path.size()) +
                                       " bytes (bound " + std::to_string(bound) + ")");
        FUZZ_CHECK(
            a == again->Matches(method, segments),
            canonical + " and " + std::string(pattern_text) + " disagree on " + std::string(path));
      }
    }
    FUZZ_CHECK(pattern->MatchesTarget("GET", target) ==
                   (problem == PathProblem::kNone && pattern->Matches("GET", segments)),
               "a non-canonical target matched " + canonical);
  }

  auto referrer_pattern = ReferrerPattern::Parse(referrer_pattern_text);
  if (referrer_pattern.ok()) {
    auto again = ReferrerPattern::Parse(referrer_pattern->text());
    FUZZ_CHECK(again.ok() && again->text() == referrer_pattern->text(),
               referrer_pattern->text() + " does not reparse to itself");
    FUZZ_CHECK(referrer_pattern->Matches(referrer) == again->Matches(referrer),
               referrer_pattern->text() + " and its canonical form disagree");
  }
  if (auto url = keyward::ParseReferrer(referrer); url && url->path_ok) {
    FUZZ_CHECK(keyward::IsCanonicalPath(url->path), "a referrer path passed as canonical");
  }
  (void)keyward::ReferrerHost(referrer);
  return 0;
}
