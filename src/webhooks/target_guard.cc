#include "webhooks/target_guard.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

namespace keyward {

namespace {

struct Range {
  const char* block;
  const char* name;
};

// IPv4 ranges also match as IPv4-mapped IPv6 (::ffff:a.b.c.d), which is
// how IpAddress holds them.
constexpr std::array<Range, 21> kRanges = {{
    {"0.0.0.0/8", "unspecified"},
    {"10.0.0.0/8", "private"},
    {"100.64.0.0/10", "shared"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"172.16.0.0/12", "private"},
    {"192.0.0.0/24", "reserved"},
    {"192.0.2.0/24", "documentation"},
    {"192.168.0.0/16", "private"},
    {"198.18.0.0/15", "benchmarking"},
    {"198.51.100.0/24", "documentation"},
    {"203.0.113.0/24", "documentation"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},
    {"::1/128", "loopback"},
    {"::/96", "reserved"},
    {"fc00::/7", "private"},
    {"fe80::/10", "link-local"},
    {"ff00::/8", "multicast"},
    {"64:ff9b::/96", "translated"},
    {"2001:db8::/32", "documentation"},
}};

bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<WebhookUrl> ParseWebhookUrl(std::string_view url) {
  if (url.empty()) return Status::InvalidRequest("url is required");
  if (url.size() > 2048) return Status::InvalidRequest("url must be at most 2048 bytes");
  if (!Printable(url)) {
    return Status::InvalidRequest("url must be printable ASCII without spaces");
  }
  WebhookUrl out;
  std::string_view rest;
  auto starts = [&](std::string_view p) {
    if (url.size() < p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(url[i])) != p[i]) return false;
    }
    return true;
  };
  if (starts("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (starts("http://")) {
    rest = url.substr(7);
  } else {
    return Status::InvalidRequest("url must start with https:// or http://");
  }
  if (rest.find('#') != std::string_view::npos) {
    return Status::InvalidRequest("url must not have a fragment (#…)");
  }
  const size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target[0] == '?') out.target = "/" + out.target;
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidRequest("url must not carry a user name or password");
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidRequest("url has an unclosed [");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::InvalidRequest("url has text after its IPv6 address");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidRequest("url has no host");
  for (char c : host) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return Status::InvalidRequest("url's host has a character a host name cannot have");
  }
  if (!port.empty()) {
    int n = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || n > 65535)
        return Status::InvalidRequest("url's port is not a number");
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535) return Status::InvalidRequest("url's port must be 1 to 65535");
    out.port = std::to_string(n);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  out.host.reserve(host.size());
  for (char c : host) out.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out.host_is_ip = ParseIpAddress(out.host).has_value();
  return out;
}

std::string_view PrivateRangeOf(const IpAddress& ip) {
  static const std::vector<std::pair<CidrBlock, const char*>> blocks = [] {
    std::vector<std::pair<CidrBlock, const char*>> v;
    for (const Range& r : kRanges) v.emplace_back(CidrBlock::Parse(r.block).value(), r.name);
    return v;
  }();
  for (const auto& [block, name] : blocks) {
    if (block.Contains(ip)) return name;
  }
  return {};
}

Result<std::vector<IpAddress>> ResolveWebhookTarget(const WebhookUrl& url,
                                                    bool allow_private_targets) {
  std::vector<IpAddress> out;
  if (auto ip = ParseIpAddress(url.host)) {
    out.push_back(*ip);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(url.host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      return Status::Unavailable("the host " + url.host + " does not resolve (" + gai_strerror(rc) +
                                 ")");
    }
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      IpAddress ip;
      if (a->ai_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
        ip.bytes[10] = ip.bytes[11] = 0xff;
        std::memcpy(&ip.bytes[12], &sin->sin_addr, 4);
      } else if (a->ai_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
        std::memcpy(ip.bytes.data(), &sin6->sin6_addr, 16);
      } else {
        continue;
      }
      bool seen = false;
      for (const auto& o : out) seen = seen || o == ip;
      if (!seen) out.push_back(ip);
    }
    freeaddrinfo(res);
    if (out.empty()) return Status::Unavailable("the host " + url.host + " has no address");
  }
  if (!allow_private_targets) {
    for (const IpAddress& ip : out) {
      const std::string_view range = PrivateRangeOf(ip);
      if (!range.empty()) {
        return Status::InvalidRequest(
            "url's host " + url.host + " is (or resolves to) " + FormatIpAddress(ip) + ", a " +
            std::string(range) +
            " address; webhooks go to public addresses only (set [webhooks] "
            "allow_private_targets = true to allow it)");
      }
    }
  }
  return out;
}

}  // namespace keyward
