// Request paths as endpoint restrictions read them: only a path already in
// canonical form is matched, never one rewritten into shape. A gateway and
// its back end may each read "/v1/products//../admin" or "..%2F" their own
// way (nginx merges slashes before it resolves dots; some servers decode
// before they split); whatever two parsers could read differently is
// refused, so keyward and every back end agree on what was asked for.
// Thread-safe: pure functions.
#ifndef KEYWARD_CORE_REQUEST_PATH_H_
#define KEYWARD_CORE_REQUEST_PATH_H_

#include <cstddef>
#include <string_view>

namespace keyward {

// The longest path an endpoint restriction will look at.
inline constexpr size_t kMaxCanonicalPathBytes = 8192;

enum class PathProblem {
  kNone,
  kEmpty,              // no path at all
  kNotAbsolute,        // does not start with "/" (absolute-form, "*", relative)
  kTooLong,            // past kMaxCanonicalPathBytes
  kEmptySegment,       // "//" anywhere
  kDotSegment,         // a segment ending in "." ("." "..", "...", "admin."), which
                       // some servers trim
  kBackslash,          // "\" read as "/" by some servers
  kSemicolon,          // ";" parameters, read as part of the path by some servers
  kEncodedSeparator,   // %2F or %5C
  kEncodedUnreserved,  // %41, %2E, %7E …: an escape canonical form writes plainly
  kEncodedDelimiter,   // %3F, %23 or %3B: "?", "#" or ";" after one decoding
  kDoubleEncoding,     // %25 followed by two hex digits: an escape after one decoding
  kBadEscape,          // "%" not followed by two hex digits
  kControl,            // a control character, raw or escaped (%00, %0A …)
  kBadCharacter,       // a raw space, non-ASCII byte or other character RFC 3986 escapes
  kBadUtf8,            // escaped bytes that are not UTF-8 (overlong "%C0%AE" is "." to some)
  kFragment,           // "#" in a request target
};

// The wire name of a problem, for logs and messages: "dot_segment".
std::string_view PathProblemName(PathProblem problem);

// Checks a request target ("/v1/products/1?page=2"): on kNone, *path is its
// path, the query left out. Canonical means: starts with "/", no empty
// segment before the last, no segment ending in "." (so no "." or ".."
// segment), escaped octets >= 0x80 only as valid, shortest-form UTF-8, only characters RFC 3986
// allows unescaped in a path except "\" and ";", and escapes only for
// octets that must be escaped (not unreserved characters, not "/", "\",
// "?", "#", ";", "%"-and-two-hex-digits, not control characters). Linear in
// the target.
PathProblem CheckCanonicalPath(std::string_view target, std::string_view* path);

// Whether a path segment is fine inside a pattern as well: the same rules,
// with "*" an ordinary character. For EndpointPattern and ReferrerPattern.
inline bool IsCanonicalPath(std::string_view path) {
  std::string_view out;
  return CheckCanonicalPath(path, &out) == PathProblem::kNone && out.size() == path.size();
}

}  // namespace keyward

#endif  // KEYWARD_CORE_REQUEST_PATH_H_
