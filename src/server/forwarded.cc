#include "server/forwarded.h"

namespace keyward {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<IpAddress> ParseAddress(std::string_view text, std::string_view header) {
  auto ip = ParseIpAddress(text);
  if (!ip) {
    return Status::InvalidRequest(std::string(header) + " holds a value that is not an IP address");
  }
  return *ip;
}

// The right-most X-Forwarded-For entry that is not a trusted proxy (all
// trusted: the left-most); nullopt without the header.
Result<std::optional<IpAddress>> FromForwardedFor(const ForwardedRequest& req,
                                                  const TrustedProxies& trusted) {
  // Repeated lines form one list (RFC 9110 §5.3), in order.
  std::vector<std::string_view> entries;
  auto range = req.equal_range("X-Forwarded-For");
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view line(it->value().data(), it->value().size());
    while (true) {
      const size_t comma = line.find(',');
      entries.push_back(Trim(line.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
  }
  if (entries.empty()) return std::optional<IpAddress>();
  std::optional<IpAddress> client;
  for (size_t i = entries.size(); i-- > 0;) {
    auto ip = ParseAddress(entries[i], "X-Forwarded-For");
    if (!ip.ok()) return ip.status();
    client = *ip;
    if (!trusted.Contains(*ip)) break;
  }
  return client;
}

}  // namespace

Result<std::optional<std::string_view>> SingleHeaderValue(const ForwardedRequest& req,
                                                          std::string_view name) {
  std::optional<std::string_view> value;
  auto range = req.equal_range(boost::beast::string_view(name.data(), name.size()));
  for (auto it = range.first; it != range.second; ++it) {
    const std::string_view v = Trim(std::string_view(it->value().data(), it->value().size()));
    if (value && *value != v) {
      return Status::InvalidRequest(std::string(name) +
                                    " is sent twice with different values; send it once");
    }
    value = v;
  }
  return value;
}

TrustedProxies TrustedProxies::Loopback() {
  return TrustedProxies({*CidrBlock::Parse("127.0.0.0/8"), *CidrBlock::Parse("::1/128")});
}

bool TrustedProxies::Contains(const IpAddress& ip) const {
  for (const auto& b : blocks_) {
    if (b.Contains(ip)) return true;
  }
  return false;
}

Result<std::string> ClientAddress(const ForwardedRequest& req, std::string_view peer_ip,
                                  const TrustedProxies& trusted) {
  const auto peer = ParseIpAddress(peer_ip);
  if (!peer) return std::string(peer_ip);  // not from a socket we know (tests)
  if (!trusted.Contains(*peer)) return FormatIpAddress(*peer);
  auto forwarded_for = FromForwardedFor(req, trusted);
  if (!forwarded_for.ok()) return forwarded_for.status();
  auto real_ip_text = SingleHeaderValue(req, "X-Real-IP");
  if (!real_ip_text.ok()) return real_ip_text.status();
  std::optional<IpAddress> real_ip;
  if (*real_ip_text) {
    auto ip = ParseAddress(**real_ip_text, "X-Real-IP");
    if (!ip.ok()) return ip.status();
    real_ip = *ip;
  }
  if (*forwarded_for && real_ip && !(**forwarded_for == *real_ip)) {
    return Status::InvalidRequest(
        "X-Forwarded-For and X-Real-IP name different clients; a gateway sets one of them (or "
        "both alike), and a client must not be able to add the other");
  }
  if (*forwarded_for) return FormatIpAddress(**forwarded_for);
  if (real_ip) return FormatIpAddress(*real_ip);
  return FormatIpAddress(*peer);
}

Result<ForwardedFacts> GatewayFacts(const ForwardedRequest& req, std::string_view peer_ip,
                                    std::string_view envoy_path, const TrustedProxies& trusted) {
  ForwardedFacts facts;
  auto client = ClientAddress(req, peer_ip, trusted);
  if (!client.ok()) return client.status();
  facts.client_ip = std::move(*client);
  const std::string_view own_method(req.method_string().data(), req.method_string().size());
  const auto peer = ParseIpAddress(peer_ip);
  facts.forwarded = peer && trusted.Contains(*peer);
  if (!facts.forwarded) {
    // Nobody vouches for the headers: the request speaks for itself.
    facts.method = std::string(own_method);
    facts.uri = std::string(req.target().data(), req.target().size());
    return facts;
  }
  auto agree = [&req](std::initializer_list<const char*> headers, std::string_view extra,
                      const char* extra_name, std::optional<std::string_view>* out) -> Status {
    const char* first = nullptr;
    for (const char* h : headers) {
      auto v = SingleHeaderValue(req, h);
      if (!v.ok()) return v.status();
      if (!*v) continue;
      if (*out && **out != **v) {
        return Status::InvalidRequest(std::string(first) + " and " + h +
                                      " disagree; a gateway sends one of them, and a client "
                                      "must not be able to add the other");
      }
      *out = *v;
      first = h;
    }
    if (!extra.empty()) {
      if (*out && **out != extra) {
        return Status::InvalidRequest(std::string(first) + " and " + extra_name +
                                      " disagree; a gateway sends one of them");
      }
      *out = extra;
    }
    return Status::Ok();
  };
  std::optional<std::string_view> method, uri;
  // Envoy asks with the original method itself: a method header must agree.
  KEYWARD_RETURN_IF_ERROR(agree({"X-Original-Method", "X-Forwarded-Method"},
                                envoy_path.empty() ? std::string_view() : own_method,
                                "the method of the request to /v1/auth/…", &method));
  KEYWARD_RETURN_IF_ERROR(
      agree({"X-Original-URI", "X-Forwarded-Uri"}, envoy_path, "the path after /v1/auth", &uri));
  facts.method = std::string(method.value_or(own_method));
  facts.uri = std::string(uri.value_or(std::string_view()));
  return facts;
}

}  // namespace keyward
