// Forwarded headers: what a request says about the request behind it (the
// client's address, method and URI), believed only from a trusted proxy.
//
// From a peer outside trusted_proxies, no forwarded header counts: the TCP
// peer is the client, and the request's own method and target are what was
// asked. From a trusted peer:
//  - the client is the right-most X-Forwarded-For entry that is not itself a
//    trusted proxy (all trusted: the left-most), or X-Real-IP; when both are
//    sent they must name the same address;
//  - the method is X-Original-Method (nginx) or X-Forwarded-Method (Caddy,
//    Traefik); the URI is X-Original-URI (nginx), X-Forwarded-Uri (Caddy,
//    Traefik) or, for Envoy, the path after /v1/auth. Whichever are sent
//    must agree: conflicting values of one fact are refused, not resolved,
//    so a header a client slipped past its gateway cannot win over the one
//    the gateway set.
// Addresses are canonical ("::ffff:10.1.2.3" is 10.1.2.3); a value that is
// not an address is refused.
// Thread-safe: pure functions over immutable inputs.
#ifndef KEYWARD_SERVER_FORWARDED_H_
#define KEYWARD_SERVER_FORWARDED_H_

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.h"
#include "core/status.h"

namespace keyward {

using ForwardedRequest = boost::beast::http::request<boost::beast::http::string_body>;

class TrustedProxies {
 public:
  TrustedProxies() = default;
  explicit TrustedProxies(std::vector<CidrBlock> blocks) : blocks_(std::move(blocks)) {}
  // Loopback only: 127.0.0.0/8 and ::1.
  static TrustedProxies Loopback();
  bool Contains(const IpAddress& ip) const;

 private:
  std::vector<CidrBlock> blocks_;
};

struct ForwardedFacts {
  std::string client_ip;   // canonical text
  std::string method;      // of the original request
  std::string uri;         // of the original request; empty when none was said
  bool forwarded = false;  // whether the peer is a trusted proxy
};

// The one value of a header sent once, or repeated with the same value;
// nullopt when absent; InvalidRequest naming it when its lines disagree (a
// client's copy passed on by its gateway must not win, nor be resolved).
Result<std::optional<std::string_view>> SingleHeaderValue(const ForwardedRequest& req,
                                                          std::string_view name);

// The client's address for any route: the peer, or what a trusted proxy
// says. InvalidRequest naming the header when a value is not an address or
// two values disagree.
Result<std::string> ClientAddress(const ForwardedRequest& req, std::string_view peer_ip,
                                  const TrustedProxies& trusted);

// Address, method and URI of the request a gateway asks about.
// envoy_path: the target after /v1/auth ("/v1/products/1?x=2"), or empty;
// with it, the request's own method is the original method, and a method
// header must agree with it.
Result<ForwardedFacts> GatewayFacts(const ForwardedRequest& req, std::string_view peer_ip,
                                    std::string_view envoy_path, const TrustedProxies& trusted);

}  // namespace keyward

#endif  // KEYWARD_SERVER_FORWARDED_H_
