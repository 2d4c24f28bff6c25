// The HTTP API of keyward: authentication (root keys, self-service keys),
// every /v1 route, gateway mode, health, metrics and the OpenAPI document.
// Protocol-level work (sockets, parsing, keep-alive) is HttpServer's; Api
// turns one parsed request into one response.
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
#include "server/forwarded.h"
#include "server/metrics.h"
#include "server/router.h"

namespace keyward {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;

struct ApiOptions {
  KeyService* service = nullptr;
  const Verifier* verifier = nullptr;
  std::function<bool()> ready;  // /readyz: can storage answer?
  int64_t usage_retention_days = 90;
  const KeyCache* cache = nullptr;  // for /metrics; may be null
  // Whose forwarded headers count (server/forwarded.h).
  TrustedProxies trusted_proxies = TrustedProxies::Loopback();
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

  // Adds a header; CR and LF are dropped from the value, so no value can
  // start a header of its own.
  void Set(std::string_view name, std::string_view value);
  // The first header called name (case-insensitive), or "".
  std::string_view Get(std::string_view name) const;
  // Status line, headers, Content-Type, Content-Length, Connection, body.
  void SerializeTo(std::string* out) const;
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

  ApiReply Handle(const HttpRequest& request, std::string_view peer_ip);

  // An answer for a request the HTTP layer refused before Handle (413, 431,
  // 400 on a broken request), shaped like every other error.
  static ApiResponse ErrorResponse(int status, Code code, std::string_view message,
                                   unsigned version, bool keep_alive);

  const Router& router() const { return router_; }
  Metrics& metrics() { return metrics_; }
  // /readyz answers 503 once the server is stopping.
  void SetStopping() { stopping_.store(true); }

  // The embedded OpenAPI document.
  static std::string_view OpenApiDocument();

 private:
  struct Call;
  struct Principal;

  enum RouteId {
    kCreateWorkspace,
    kListWorkspaces,
    kGetWorkspace,
    kUpdateWorkspace,
    kCreateKey,
    kListKeys,
    kGetKey,
    kUpdateKey,
    kRevokeKey,
    kRotateKey,
    kVerify,
    kAuth,
    kAuthWithPath,
    kAuditLog,
    kUsage,
    kHealthz,
    kReadyz,
    kMetrics,
    kOpenApi,
    kRouteCount,
  };

  static Router BuildRouter();
  void Dispatch(Call& call, int route);
  bool Authenticate(Call& call, bool allow_self_service);
  bool RequireRoot(Call& call);
  // Loads a key the caller may see; answers 404 otherwise.
  std::optional<ApiKey> LoadVisibleKey(Call& call, std::string_view id);
  bool ScopesWithinCaller(Call& call, const std::vector<std::string>& scopes);
  // The JSON body of a write, refused when it holds an issued-format key.
  std::optional<nlohmann::json> WriteBody(Call& call, bool allow_empty);

  void CreateWorkspace(Call& call);
  void ListWorkspaces(Call& call);
  void GetWorkspace(Call& call);
  void UpdateWorkspace(Call& call);
  void CreateKey(Call& call);
  void ListKeys(Call& call);
  void GetKey(Call& call);
  void UpdateKey(Call& call);
  void RevokeKey(Call& call);
  void RotateKey(Call& call);
  void VerifyKey(Call& call);
  void GatewayAuth(Call& call);
  void AuditLog(Call& call);
  void Usage(Call& call);
  void Ready(Call& call);

  // The workspace as the API shows it, with its limit in force and active keys.
  nlohmann::json WorkspaceObject(const Workspace& ws);

  ApiOptions options_;
  KeyService* service_;
  Router router_;
  Metrics metrics_;
  std::atomic<bool> stopping_{false};
};

}  // namespace keyward

#endif  // KEYWARD_SERVER_API_H_
