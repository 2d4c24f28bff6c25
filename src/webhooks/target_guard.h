// Where webhooks may be sent. A webhook URL is the operator's customer's to
// choose, so it must not reach into the network keyward runs in (a
// server-side request forgery): unless the deployment allows private
// targets, an address in a loopback, private, link-local, shared,
// multicast or reserved range is refused, when the endpoint is saved and
// again at every delivery, on the addresses the name resolves to then; the
// delivery connects to the addresses that were checked, never to a name
// resolved a second time (DNS rebinding).
// Thread-safe: pure functions, apart from the resolver's own I/O.
#ifndef KEYWARD_WEBHOOKS_TARGET_GUARD_H_
#define KEYWARD_WEBHOOKS_TARGET_GUARD_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.h"
#include "core/status.h"

namespace keyward {

struct WebhookUrl {
  bool tls = false;    // https
  std::string host;    // lower case; an IPv6 literal without brackets
  std::string port;    // "443" when left out of an https URL, "80" of http
  std::string target;  // path and query, "/" at least
  bool host_is_ip = false;
};

// Parses an endpoint's URL: http or https, a host, an optional port, no
// user name or password, no fragment, at most 2,048 bytes of printable
// ASCII. kInvalidRequest naming the problem.
Result<WebhookUrl> ParseWebhookUrl(std::string_view url);

// Whether ip is in a range webhooks may not reach without
// allow_private_targets, and that range's name ("loopback", "private",
// "link-local", …); empty when public.
std::string_view PrivateRangeOf(const IpAddress& ip);

// The addresses a URL's host stands for (the literal, or what DNS answers
// now), each checked: kInvalidRequest when any is private and private
// targets are not allowed (every address a name has is one an attacker may
// make the connection land on), kUnavailable when the name does not
// resolve.
Result<std::vector<IpAddress>> ResolveWebhookTarget(const WebhookUrl& url,
                                                    bool allow_private_targets);

}  // namespace keyward

#endif  // KEYWARD_WEBHOOKS_TARGET_GUARD_H_
