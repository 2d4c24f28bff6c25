#include "core/request_path.h"

#include <cstdint>
#include <string>

#include "core/utf8.h"

namespace keyward {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// pchar of RFC 3986 without ";" (and "%", handled apart): unreserved,
// sub-delims other than ";", ":" and "@".
bool IsPlainPathChar(unsigned char c) {
  if (IsUnreserved(c)) return true;
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case '=':
    case ':':
    case '@':
      return true;
    default:
      return false;
  }
}

PathProblem CheckEscape(std::string_view path, size_t at) {
  const int hi = at + 2 < path.size() ? HexValue(path[at + 1]) : -1;
  const int lo = at + 2 < path.size() ? HexValue(path[at + 2]) : -1;
  if (hi < 0 || lo < 0) return PathProblem::kBadEscape;
  const unsigned char c = static_cast<unsigned char>(hi * 16 + lo);
  if (c < 0x20 || c == 0x7f) return PathProblem::kControl;
  if (c == '/' || c == '\\') return PathProblem::kEncodedSeparator;
  if (IsUnreserved(c)) return PathProblem::kEncodedUnreserved;
  if (c == '?' || c == '#' || c == ';') return PathProblem::kEncodedDelimiter;
  if (c == '%' && at + 4 < path.size() && HexValue(path[at + 3]) >= 0 &&
      HexValue(path[at + 4]) >= 0) {
    return PathProblem::kDoubleEncoding;
  }
  return PathProblem::kNone;
}

PathProblem CheckSegment(std::string_view segment, bool last) {
  if (segment.empty()) return last ? PathProblem::kNone : PathProblem::kEmptySegment;
  // "." and "..", and "admin." or "...", which some servers trim to "admin".
  if (segment.back() == '.') return PathProblem::kDotSegment;
  return PathProblem::kNone;
}

}  // namespace

std::string_view PathProblemName(PathProblem problem) {
  switch (problem) {
    case PathProblem::kNone:
      return "none";
    case PathProblem::kEmpty:
      return "empty";
    case PathProblem::kNotAbsolute:
      return "not_absolute";
    case PathProblem::kTooLong:
      return "too_long";
    case PathProblem::kEmptySegment:
      return "empty_segment";
    case PathProblem::kDotSegment:
      return "dot_segment";
    case PathProblem::kBackslash:
      return "backslash";
    case PathProblem::kSemicolon:
      return "semicolon";
    case PathProblem::kEncodedSeparator:
      return "encoded_separator";
    case PathProblem::kEncodedUnreserved:
      return "encoded_unreserved";
    case PathProblem::kEncodedDelimiter:
      return "encoded_delimiter";
    case PathProblem::kDoubleEncoding:
      return "double_encoding";
    case PathProblem::kBadEscape:
      return "bad_escape";
    case PathProblem::kControl:
      return "control_character";
    case PathProblem::kBadCharacter:
      return "bad_character";
    case PathProblem::kBadUtf8:
      return "invalid_utf8";
    case PathProblem::kFragment:
      return "fragment";
  }
  return "unknown";
}

PathProblem CheckCanonicalPath(std::string_view target, std::string_view* path) {
  *path = {};
  if (target.empty()) return PathProblem::kEmpty;
  if (target[0] != '/') return PathProblem::kNotAbsolute;
  size_t end = target.size();
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '?') {
      end = i;
      break;
    }
  }
  // A fragment is never sent; one in the query is as suspect as in the path.
  for (size_t i = end; i < target.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(target[i]);
    if (c == '#') return PathProblem::kFragment;
    if (c < 0x20 || c == 0x7f) return PathProblem::kControl;
  }
  const std::string_view p = target.substr(0, end);
  if (p.size() > kMaxCanonicalPathBytes) return PathProblem::kTooLong;
  size_t segment_start = 1;
  for (size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      const PathProblem s = CheckSegment(p.substr(segment_start, i - segment_start), i == p.size());
      if (s != PathProblem::kNone) return s;
      segment_start = i + 1;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == '%') {
      const PathProblem e = CheckEscape(p, i);
      if (e != PathProblem::kNone) return e;
      // A run of escaped octets >= 0x80 must be UTF-8 as a whole.
      std::string octets;
      size_t j = i;
      while (j + 2 < p.size() && p[j] == '%' && CheckEscape(p, j) == PathProblem::kNone) {
        const unsigned char o =
            static_cast<unsigned char>(HexValue(p[j + 1]) * 16 + HexValue(p[j + 2]));
        if (o < 0x80) break;
        octets.push_back(static_cast<char>(o));
        j += 3;
      }
      if (!octets.empty()) {
        if (!IsValidUtf8(octets)) return PathProblem::kBadUtf8;
        i = j - 1;
        continue;
      }
      i += 2;
      continue;
    }
    if (IsPlainPathChar(c)) continue;
    if (c == '\\') return PathProblem::kBackslash;
    if (c == ';') return PathProblem::kSemicolon;
    if (c == '#') return PathProblem::kFragment;
    if (c < 0x20 || c == 0x7f) return PathProblem::kControl;
    return PathProblem::kBadCharacter;
  }
  *path = p;
  return PathProblem::kNone;
}

}  // namespace keyward
