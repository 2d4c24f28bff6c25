#include "core/endpoint_pattern.h"

#include <algorithm>

#include "core/request_path.h"

namespace keyward {
namespace {

bool IsMethodChar(char c) { return c >= 'A' && c <= 'Z'; }

Status Refuse(std::string_view text, const std::string& why) {
  return Status::InvalidRequest("endpoint \"" + std::string(text) + "\" " + why);
}

}  // namespace

Result<EndpointPattern> EndpointPattern::Parse(std::string_view text) {
  // The path and the methods are bounded apart, so that the canonical form
  // ("* /path" for a bare path) is within bounds whenever the text is.
  if (text.size() > kMaxPatternBytes + kMaxMethodsBytes + 1) {
    return Status::InvalidRequest("an endpoint pattern is at most " +
                                  std::to_string(kMaxPatternBytes) + " bytes of path");
  }
  EndpointPattern p;
  const size_t space = text.find(' ');
  std::string_view path = text;
  if (space != std::string_view::npos) {
    const std::string_view methods = text.substr(0, space);
    path = text.substr(space + 1);
    if (methods != "*") {
      size_t start = 0;
      while (start <= methods.size()) {
        size_t comma = methods.find(',', start);
        if (comma == std::string_view::npos) comma = methods.size();
        const std::string_view m = methods.substr(start, comma - start);
        if (m.empty() || m.size() > 16) return Refuse(text, "has an empty or overlong method");
        for (char c : m) {
          if (!IsMethodChar(c)) return Refuse(text, ": methods are upper-case, like GET or POST");
        }
        p.methods_.emplace_back(m);
        start = comma + 1;
      }
    }
  }
  if (path.empty() || path[0] != '/') {
    return Refuse(text, "needs a path starting with /, like \"GET /v1/products/*\"");
  }
  if (path.size() > kMaxPatternBytes) {
    return Refuse(text, "has a path over " + std::to_string(kMaxPatternBytes) + " bytes");
  }
  if (path.data() != text.data() && text.size() - path.size() - 1 > kMaxMethodsBytes) {
    return Refuse(text, "has methods over " + std::to_string(kMaxMethodsBytes) + " bytes");
  }
  for (char c : path) {
    if (c == '?' || c == '#' || c == ' ') return Refuse(text, "has a space, ? or # in its path");
  }
  std::string_view checked;
  if (const PathProblem problem = CheckCanonicalPath(path, &checked);
      problem != PathProblem::kNone) {
    // Requests are matched only in canonical form, so a pattern in any
    // other form would match nothing.
    return Refuse(text, "is not a canonical path (" + std::string(PathProblemName(problem)) +
                            "): write it as requests arrive, with no empty, \".\" or \"..\" "
                            "segments and no escaped letters, digits, slashes or dots");
  }
  std::vector<std::string_view> segments;
  SplitPathSegments(path, &segments);
  for (auto s : segments) {
    if (!IsValidGlobSegment(s)) {
      return Refuse(text, "uses ** inside a segment; ** stands for whole segments, like /v1/**");
    }
  }
  p.path_ = std::string(path);
  p.glob_ = PathGlob(p.path_);
  return p;
}

bool EndpointPattern::MethodAllowed(std::string_view method) const {
  return methods_.empty() || std::find(methods_.begin(), methods_.end(), method) != methods_.end();
}

bool EndpointPattern::Matches(std::string_view method, std::span<const std::string_view> segments,
                              size_t* steps) const {
  return MethodAllowed(method) && glob_.Matches(segments, steps);
}

bool EndpointPattern::MatchesTarget(std::string_view method, std::string_view target) const {
  std::string_view path;
  if (CheckCanonicalPath(target, &path) != PathProblem::kNone) return false;
  std::vector<std::string_view> segments;
  SplitPathSegments(path, &segments);
  return Matches(method, segments);
}

bool EndpointPattern::IsWithin(const EndpointPattern& other) const {
  if (!other.methods_.empty()) {
    if (methods_.empty()) return false;
    for (const auto& m : methods_) {
      if (!other.MethodAllowed(m)) return false;
    }
  }
  if (path_ == other.path_) return true;
  if (glob_.has_wildcard()) return false;
  // A literal path is within a wildcard pattern that matches it.
  return other.glob_.Matches(std::string_view(path_));
}

std::string EndpointPattern::ToString() const {
  std::string out;
  if (methods_.empty()) {
    out = "*";
  } else {
    for (size_t i = 0; i < methods_.size(); ++i) {
      if (i) out += ',';
      out += methods_[i];
    }
  }
  out += ' ';
  out += path_;
  return out;
}

}  // namespace keyward
