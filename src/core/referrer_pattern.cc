#include "core/referrer_pattern.h"

#include "core/glob.h"

namespace keyward {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

// A URL with its scheme and host lower-cased and its path kept as it is.
// The caller has checked that url contains "://".
std::string LowerSchemeAndHost(std::string_view url) {
  const size_t host_end = url.find_first_of("/?#", url.find("://") + 3);
  std::string out = ToLower(url.substr(0, host_end));
  if (host_end != std::string_view::npos) out += url.substr(host_end);
  return out;
}

}  // namespace

std::string ReferrerHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest[0] == '[') {
    rest = rest.substr(0, rest.find(']') + 1);
  } else {
    rest = rest.substr(0, rest.find(':'));
  }
  return ToLower(rest);
}

Result<ReferrerPattern> ReferrerPattern::Parse(std::string_view text) {
  if (text.empty() || text.size() > 512) {
    return Status::InvalidRequest("a referrer pattern must be 1-512 characters");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Status::InvalidRequest("referrer pattern \"" + std::string(text) +
                                    "\" has a space or control character");
    }
  }
  ReferrerPattern p;
  p.url_pattern_ = text.find("://") != std::string_view::npos;
  // Scheme and host compare lower-cased; a URL's path keeps its case.
  p.text_ = p.url_pattern_ ? LowerSchemeAndHost(text) : ToLower(text);
  if (!p.url_pattern_ && p.text_.find('/') != std::string::npos) {
    return Status::InvalidRequest("referrer pattern \"" + std::string(text) +
                                  "\" is neither a host (example.com, *.example.com) nor a URL "
                                  "pattern (https://example.com/*)");
  }
  return p;
}

bool ReferrerPattern::Matches(std::string_view referrer) const {
  if (referrer.empty()) return false;
  if (url_pattern_) {
    if (referrer.find("://") == std::string_view::npos) return false;
    return GlobMatch(text_, LowerSchemeAndHost(referrer), '\0');
  }
  const std::string host = ReferrerHost(referrer);
  if (host.empty()) return false;
  if (text_.size() > 2 && text_[0] == '*' && text_[1] == '.') {
    const std::string_view suffix = std::string_view(text_).substr(1);  // ".example.com"
    return host.size() > suffix.size() &&
           host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return host == text_;
}

}  // namespace keyward
