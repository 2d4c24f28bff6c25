#include "core/endpoint_pattern.h"

#include "core/glob.h"

namespace keyward {
namespace {

bool IsMethodChar(char c) { return c >= 'A' && c <= 'Z'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Decodes %-escapes of unreserved characters, reads an escaped or literal
// slash or backslash as a segment separator (so "..%2F" cannot hide a dot
// segment from here and show it to a back end that decodes first), writes a
// stray "%" as "%25" (so what decoding puts after it never reads as an
// escape on a second pass), then resolves "." and ".." segments (RFC 3986
// remove_dot_segments). The result normalises to itself.
std::string NormalizePath(std::string_view path) {
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\') {
      decoded.push_back('/');
      continue;
    }
    if (path[i] != '%') {
      decoded.push_back(path[i]);
      continue;
    }
    const int hi = i + 2 < path.size() ? HexValue(path[i + 1]) : -1;
    const int lo = i + 2 < path.size() ? HexValue(path[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      decoded.append("%25");
      continue;
    }
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '/' || c == '\\') {
      decoded.push_back('/');
    } else if (IsUnreserved(c)) {
      decoded.push_back(c);
    } else {
      decoded.append(path.substr(i, 3));
    }
    i += 2;
  }
  std::vector<std::string_view> segments;
  std::string_view rest = decoded;
  if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
  bool trailing_slash = false;
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (seg == ".") {
      trailing_slash = last;
    } else if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = last;
    } else {
      segments.push_back(seg);
      trailing_slash = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  for (const auto& seg : segments) {
    out += '/';
    out += seg;
  }
  if (out.empty() || trailing_slash) out += '/';
  return out;
}

}  // namespace

Result<EndpointPattern> EndpointPattern::Parse(std::string_view text) {
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
        if (m.empty() || m.size() > 16) {
          return Status::InvalidRequest("endpoint \"" + std::string(text) +
                                        "\" has an empty or overlong method");
        }
        for (char c : m) {
          if (!IsMethodChar(c)) {
            return Status::InvalidRequest("endpoint \"" + std::string(text) +
                                          "\": methods are upper-case, like GET or POST");
          }
        }
        p.methods_.emplace_back(m);
        start = comma + 1;
      }
    }
  }
  if (path.empty() || path[0] != '/') {
    return Status::InvalidRequest("endpoint \"" + std::string(text) +
                                  "\" needs a path starting with /, like \"GET /v1/products/*\"");
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#') {
      return Status::InvalidRequest("endpoint \"" + std::string(text) +
                                    "\" has a space, control character, ? or # in its path");
    }
  }
  // Written as requests are read, so "/promo/100%" and "/a/%41" match the
  // requests they name.
  p.path_ = NormalizePath(path);
  return p;
}

bool EndpointPattern::Matches(std::string_view method, std::string_view path) const {
  if (!methods_.empty()) {
    bool found = false;
    for (const auto& m : methods_) {
      if (m == method) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return GlobMatch(path_, path, '/');
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

std::string NormalizeRequestPath(std::string_view target) {
  // An absolute-form target ("http://host/path") keeps only its path.
  if (const size_t scheme = target.find("://");
      scheme != std::string_view::npos && target.find('/') > scheme) {
    const size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return NormalizePath(target.substr(0, target.find_first_of("?#")));
}

}  // namespace keyward
