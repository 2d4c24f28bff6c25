// The HTTP API of keyward: turns one parsed request into one response. It
// matches the request against the routes every resource registers
// (server/routes/), authenticates as the route says (server/auth.h), and
// runs its handler. Protocol-level work (sockets, parsing, keep-alive) is
// HttpServer's.
// Thread-safe: Handle runs on any serving thread at once.
#ifndef KEYWARD_SERVER_API_H_
#define KEYWARD_SERVER_API_H_

#include <atomic>
#include <boost/beast/http.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_cache.h"
#include "core/key_service.h"
#include "core/verifier.h"
#include "server/call.h"
#include "server/config.h"
#include "server/forwarded.h"
#include "server/metrics.h"
#include "server/route.h"
#include "server/router.h"
#include "webhooks/endpoints.h"

namespace keyward {

// What the hosted pages need from the configuration.
struct PageOptions {
  // The origin browsers use ("https://keys.example.com"), no trailing slash;
  // configured says whether the operator set it (else it is http://<listen>,
  // and a page's own Host is its origin too).
  std::string public_url = "http://127.0.0.1:8080";
  bool public_url_configured = false;
  std::string product_name = "API keys";
  std::string logo_url, accent_color, support_url;
  std::vector<std::string> frame_ancestors;  // empty: 'none'
  int64_t session_ttl_seconds = 24 * 60 * 60;
};

struct ApiOptions {
  KeyService* service = nullptr;
  const Verifier* verifier = nullptr;
  // /readyz: Ok, or why storage cannot take changes (a storage fault).
  std::function<Status()> ready;
  // More /metrics lines in the text format (the store, Redis); may be empty.
  std::function<std::string()> extra_metrics;
  int64_t usage_retention_days = 90;
  const KeyCache* cache = nullptr;  // for /metrics; may be null
  // What is left of credit balances, for reads (keys, usage); may be null.
  CreditLedger* credits = nullptr;
  PolicyResolver* policies = nullptr;
  // Whose forwarded headers count (server/forwarded.h).
  TrustedProxies trusted_proxies = TrustedProxies::Loopback();
  // The portal and the console (may be null: no browser sessions).
  WebSessions* sessions = nullptr;
  PageOptions pages;
  // Webhook endpoints (null: the routes answer 503), and what makes the
  // delivery worker look now.
  WebhookEndpoints* webhooks = nullptr;
  std::function<void()> wake_webhooks;
  // [leaks]: what a reported leak does, and GitHub's signing keys.
  LeakPolicy leak_policy = LeakPolicy::kRevoke;
  std::vector<Config::GithubKey> github_keys;
};

// One answer, ready for the wire: headers are kept as "Name: value" lines,
// so setting one costs an append, not an allocation per field.
struct ApiResponse {
  int status = 200;
  unsigned version = 11;  // of the request: 10 or 11
  bool keep_alive = true;
  std::string content_type;  // empty: no body type
  std::string headers;       // "Name: value\r\n" lines
  std::string body;
  // Set by Call::Stream: the body comes from it, piece by piece, and body
  // is unused. Empty (no allocation) for every other answer.
  BodyProducer stream;

  // Adds a header; CR and LF are dropped from the value, so no value can
  // start a header of its own.
  void Set(std::string_view name, std::string_view value);
  // The first header called name (case-insensitive), or "".
  std::string_view Get(std::string_view name) const;
  // Status line, headers, Content-Type, Content-Length, Connection, body.
  void SerializeTo(std::string* out) const;
  // The head of a streamed answer: status line, headers, Content-Type, then
  // "Transfer-Encoding: chunked" when chunked, else no length at all (the
  // body ends when the connection closes), and Connection.
  void SerializeStreamHeadTo(std::string* out, bool chunked) const;
};

struct ApiReply {
  ApiResponse response;
  size_t route = 0;          // for metrics
  std::string key_prefix;    // the short prefix of the key involved, for the log
  std::optional<Code> code;  // the error or verification code answered
  std::string_view reason;   // why a key was malformed, for the log
};

class Api {
 public:
  explicit Api(ApiOptions options);
  // With these routes instead of AllRoutes() (tests of the HTTP layer).
  Api(ApiOptions options, RouteTable routes);

  ApiReply Handle(const HttpRequest& request, std::string_view peer_ip);

  // An answer for a request the HTTP layer refused before Handle (413, 431,
  // 400 on a broken request), shaped like every other error.
  static ApiResponse ErrorResponse(int status, Code code, std::string_view message,
                                   unsigned version, bool keep_alive);

  const Router& router() const { return router_; }
  // The registered routes, in router() order.
  const RouteTable& routes() const { return routes_; }
  Metrics& metrics() { return metrics_; }
  // The address the server listens on ("127.0.0.1:41234"), known once it
  // is bound: without a configured public_url, links point there. Call
  // before serving; not thread-safe.
  void SetListenAddress(std::string_view address);
  // /readyz answers 503 once the server is stopping.
  void SetStopping() { stopping_.store(true); }
  bool stopping() const { return stopping_.load(); }

  // The embedded OpenAPI document.
  static std::string_view OpenApiDocument();

 private:
  void Dispatch(Call& call, const Route& route);

  ApiOptions options_;
  RouteTable routes_;
  Router router_;
  Metrics metrics_;
  RouteContext context_;
  std::atomic<bool> stopping_{false};
};

}  // namespace keyward

#endif  // KEYWARD_SERVER_API_H_
