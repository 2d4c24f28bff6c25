#include "core/referrer_pattern.h"

#include "core/request_path.h"

namespace keyward {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsSchemeChar(char c, bool first) {
  const char l = Lower(c);
  if (l >= 'a' && l <= 'z') return true;
  return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

bool IsLabelChar(char c) {
  const char l = Lower(c);
  return (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// A host of DNS labels ("app.example.com"), or "[v6]"; lower-cased.
bool ParseHost(std::string_view text, std::string* host) {
  if (text.empty() || text.size() > 255) return false;
  if (text.front() == '[') {
    if (text.back() != ']' || text.size() < 3) return false;
    for (char c : text.substr(1, text.size() - 2)) {
      const char l = Lower(c);
      if (!((l >= 'a' && l <= 'f') || (c >= '0' && c <= '9') || c == ':' || c == '.')) return false;
    }
    *host = ToLower(text);
    return true;
  }
  size_t label = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (label == 0 || label > 63) return false;  // empty label, trailing dot
      label = 0;
      continue;
    }
    if (!IsLabelChar(text[i])) return false;
    ++label;
  }
  *host = ToLower(text);
  return true;
}

// 1-65535, written without leading zeros: one port, one spelling.
bool IsPort(std::string_view s) {
  if (s.empty() || s.size() > 5 || s[0] == '0') return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return v <= 65535;
}

bool HasSpaceOrControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The lower-cased scheme of "scheme://…" (sep: where "://" starts), or
// false when it is not one.
bool ParseScheme(std::string_view text, size_t sep, std::string* scheme) {
  if (sep == 0) return false;
  for (size_t i = 0; i < sep; ++i) {
    if (!IsSchemeChar(text[i], i == 0)) return false;
  }
  *scheme = ToLower(text.substr(0, sep));
  return true;
}

// "host:port" -> host and port; a ":" inside "[v6]" is not a port's.
void SplitPort(std::string_view authority, std::string_view* host,
               std::optional<std::string_view>* port) {
  *host = authority;
  port->reset();
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    *host = authority.substr(0, colon);
    *port = authority.substr(colon + 1);
  }
}

// The scheme's own port, written out, is the default port.
void DropDefaultPort(std::string_view scheme, std::string* port) {
  if ((scheme == "https" && *port == "443") || (scheme == "http" && *port == "80")) port->clear();
}

}  // namespace

std::optional<ReferrerUrl> ParseReferrer(std::string_view url) {
  if (url.empty() || url.size() > 4096 || HasSpaceOrControl(url)) return std::nullopt;
  if (url.find('\\') != std::string_view::npos) return std::nullopt;
  const size_t sep = url.find("://");
  ReferrerUrl out;
  if (sep == std::string_view::npos || !ParseScheme(url, sep, &out.scheme)) return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  const size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  // User info ("https://example.com@evil.net/") reads differently across
  // parsers and has no place in a referrer.
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host;
  std::optional<std::string_view> port;
  SplitPort(authority, &host, &port);
  if (port) {
    if (!IsPort(*port)) return std::nullopt;
    out.port = std::string(*port);
    DropDefaultPort(out.scheme, &out.port);
  }
  if (!ParseHost(host, &out.host)) return std::nullopt;
  // A fragment never takes part (browsers do not send one).
  rest = rest.substr(0, rest.find('#'));
  const std::string_view target = rest.empty() || rest[0] != '/' ? std::string_view("/") : rest;
  std::string_view path;
  out.path_ok = CheckCanonicalPath(target, &path) == PathProblem::kNone;
  if (out.path_ok) out.path = path;
  return out;
}

std::string ReferrerHost(std::string_view url) {
  auto parsed = ParseReferrer(url);
  return parsed ? parsed->host : std::string();
}

Result<ReferrerPattern> ReferrerPattern::Parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxPatternBytes) {
    return Status::InvalidRequest("a referrer pattern must be 1-256 characters");
  }
  auto refuse = [&](const std::string& why) {
    return Status::InvalidRequest("referrer pattern \"" + std::string(text) + "\" " + why);
  };
  if (HasSpaceOrControl(text)) return refuse("has a space or control character");
  ReferrerPattern p;
  std::string_view host = text;
  std::string_view path;
  const size_t sep = text.find("://");
  p.url_pattern_ = sep != std::string_view::npos;
  if (p.url_pattern_) {
    if (!ParseScheme(text, sep, &p.scheme_)) return refuse("has no scheme or a bad one");
    std::string_view rest = text.substr(sep + 3);
    const size_t slash = rest.find('/');
    std::optional<std::string_view> port;
    SplitPort(rest.substr(0, slash), &host, &port);
    path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (rest.find_first_of("?#") != std::string_view::npos) {
      return refuse("has a ? or #: query and fragment never take part");
    }
    if (port) {
      if (*port != "*" && !IsPort(*port)) return refuse("has a bad port");
      p.port_ = std::string(*port);
      DropDefaultPort(p.scheme_, &p.port_);
    }
  } else if (text.find_first_of("/:?#@") != std::string_view::npos) {
    return refuse(
        "is neither a host (example.com, *.example.com) nor a URL pattern "
        "(https://example.com/**)");
  }
  if (host.size() > 2 && host.substr(0, 2) == "*.") {
    p.any_subdomain_ = true;
    host.remove_prefix(2);
  }
  if (!ParseHost(host, &p.host_)) {
    return refuse(
        "has a bad host: labels of letters, digits and -, and only a whole first label may "
        "be *");
  }
  if (!path.empty()) {
    if (!IsCanonicalPath(path)) return refuse("has a path that is not in canonical form");
    std::vector<std::string_view> segments;
    SplitPathSegments(path, &segments);
    for (auto s : segments) {
      if (!IsValidGlobSegment(s)) return refuse("uses ** inside a segment; write /**");
    }
    p.any_path_ = false;
    p.path_text_ = std::string(path);
    p.path_ = PathGlob(path);
  }
  // Canonical text: scheme and host lower-cased, the path as written.
  if (p.url_pattern_) {
    p.text_ = p.scheme_ + "://" + (p.any_subdomain_ ? "*." : "") + p.host_ +
              (p.port_.empty() ? "" : ":" + p.port_) + std::string(path);
  } else {
    p.text_ = (p.any_subdomain_ ? "*." : "") + p.host_;
  }
  return p;
}

bool ReferrerPattern::HostMatches(std::string_view host) const {
  if (!any_subdomain_) return host == host_;
  // One or more whole labels before ".host_".
  return host.size() > host_.size() + 1 && host.substr(host.size() - host_.size()) == host_ &&
         host[host.size() - host_.size() - 1] == '.' && host[0] != '[';
}

bool ReferrerPattern::Matches(std::string_view referrer) const {
  auto url = ParseReferrer(referrer);
  return url && Matches(*url);
}

bool ReferrerPattern::Matches(const ReferrerUrl& url) const {
  if (!HostMatches(url.host)) return false;
  if (!url_pattern_) return true;
  if (url.scheme != scheme_) return false;
  if (port_ != "*" && url.port != port_) return false;
  if (any_path_) return true;
  return url.path_ok && path_.Matches(url.path);
}

bool ReferrerPattern::HostWithin(const ReferrerPattern& other) const {
  if (!any_subdomain_) return other.HostMatches(host_);
  return other.any_subdomain_ && (host_ == other.host_ || other.HostMatches(host_));
}

bool ReferrerPattern::IsWithin(const ReferrerPattern& other) const {
  if (text_ == other.text_) return true;
  if (!HostWithin(other)) return false;
  // A host entry allows any scheme, port and path of its hosts.
  if (!other.url_pattern_) return true;
  if (!url_pattern_ || scheme_ != other.scheme_) return false;
  if (other.port_ != "*" && (port_ == "*" || port_ != other.port_)) return false;
  if (other.any_path_) return true;
  if (any_path_) return false;
  if (path_text_ == other.path_text_) return true;
  return !path_.has_wildcard() && other.path_.Matches(std::string_view(path_text_));
}

}  // namespace keyward
