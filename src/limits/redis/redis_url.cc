#include "limits/redis/redis_url.h"

#include <cctype>
#include <charconv>
#include <optional>

namespace keyward {
namespace {

// No message quotes the URL: any part of it may be (or hold) the password.
Status Invalid(std::string_view why) {
  return Status::InvalidRequest("redis URL: " + std::string(why) +
                                " (expected redis://[[user]:password@]host[:port][/db] or "
                                "unix://[[user]:password@]/path/to/redis.sock[?db=N])");
}

std::optional<int> ParseNumber(std::string_view s, int max) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || end != s.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

Status ParseUserInfo(std::string_view info, RedisUrl& url) {
  const size_t colon = info.find(':');
  if (colon == std::string_view::npos) {
    return Invalid("the part before '@' needs a ':' before the password");
  }
  auto user = PercentDecode(info.substr(0, colon));
  auto password = PercentDecode(info.substr(colon + 1));
  if (!user || !password) return Invalid("bad percent-encoding before '@'");
  if (password->empty()) return Invalid("empty password");
  url.user = std::move(*user);
  url.password = std::move(*password);
  return Status::Ok();
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

Result<RedisUrl> ParseTcp(std::string_view rest) {
  RedisUrl url;
  url.transport = RedisUrl::Transport::kTcp;
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Invalid("redis:// takes no query or fragment");
  }
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    KEYWARD_RETURN_IF_ERROR(ParseUserInfo(rest.substr(0, at), url));
    rest.remove_prefix(at + 1);
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid("unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    for (char c : url.host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return Invalid("bad IPv6 address");
      }
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Invalid("junk after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return Invalid("empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Invalid("empty port");
    }
    for (char c : url.host) {
      if (!IsHostChar(c)) return Invalid("bad character in the host");
    }
  }
  if (url.host.empty()) return Invalid("no host");
  if (!port.empty()) {
    auto p = ParseNumber(port, 65535);
    if (!p || *p == 0) return Invalid("bad port");
    url.port = *p;
  }
  if (!path.empty()) {
    auto db = ParseNumber(path, 1'000'000);
    if (!db) return Invalid("the path must be a database number");
    url.db = *db;
  }
  return url;
}

Result<RedisUrl> ParseUnix(std::string_view rest) {
  RedisUrl url;
  url.transport = RedisUrl::Transport::kUnix;
  if (rest.find('#') != std::string_view::npos) return Invalid("unix:// takes no fragment");
  if (!rest.starts_with('/')) {
    const size_t at = rest.find("@/");
    if (at == std::string_view::npos) return Invalid("unix:// needs an absolute socket path");
    KEYWARD_RETURN_IF_ERROR(ParseUserInfo(rest.substr(0, at), url));
    rest.remove_prefix(at + 1);
  }
  const size_t q = rest.find('?');
  url.socket_path = std::string(rest.substr(0, q));
  if (url.socket_path.size() < 2) return Invalid("no socket path");
  if (q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    if (!query.starts_with("db=")) return Invalid("unix:// takes ?db=N and nothing else");
    auto db = ParseNumber(query.substr(3), 1'000'000);
    if (!db) return Invalid("bad db number");
    url.db = *db;
  }
  return url;
}

void AppendUserInfo(const RedisUrl& url, std::string& out) {
  if (url.password.empty()) return;
  // The user is not a secret, but it is shown as given (not re-encoded) only
  // when it cannot be confused with the rest of the URL.
  out += url.user.find_first_of(":@/") == std::string::npos ? url.user : "?";
  out += ":***@";
}

}  // namespace

Result<RedisUrl> RedisUrl::Parse(std::string_view url) {
  if (url.starts_with("redis://")) return ParseTcp(url.substr(8));
  if (url.starts_with("unix://")) return ParseUnix(url.substr(7));
  if (url.starts_with("rediss://")) return Invalid("TLS (rediss://) is not supported");
  return Invalid("unknown scheme");
}

std::string RedisUrl::Redacted() const {
  std::string out;
  if (transport == Transport::kUnix) {
    out = "unix://";
    AppendUserInfo(*this, out);
    out += socket_path;
    if (db != 0) out += "?db=" + std::to_string(db);
    return out;
  }
  out = "redis://";
  AppendUserInfo(*this, out);
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port);
  if (db != 0) out += "/" + std::to_string(db);
  return out;
}

}  // namespace keyward
