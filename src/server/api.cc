#include "server/api.h"

#include <algorithm>
#include <array>
#include <optional>

#include "server/auth.h"
#include "server/http_status.h"
#include "server/routes/routes.h"

namespace keyward {
namespace {

std::vector<std::string> RouteNames(const Router& router) {
  std::vector<std::string> names;
  for (const auto& r : router.routes()) names.push_back(r.name);
  return names;
}

Router BuildRouter(const RouteTable& table) {
  Router router;
  for (const auto& r : table.routes()) (void)router.Add(r.method, r.pattern);
  return router;
}

}  // namespace

Api::Api(ApiOptions options) : Api(std::move(options), AllRoutes()) {}

Api::Api(ApiOptions options, RouteTable routes)
    : options_(std::move(options)),
      routes_(std::move(routes)),
      router_(BuildRouter(routes_)),
      metrics_(RouteNames(router_)),
      context_{options_.service, options_.verifier, &options_, this, options_.sessions} {}

ApiResponse Api::ErrorResponse(int status, Code code, std::string_view message, unsigned version,
                               bool keep_alive) {
  ApiResponse res;
  res.status = status;
  res.version = version;
  res.keep_alive = keep_alive;
  res.content_type = "application/json";
  res.Set("Cache-Control", "no-store");
  res.body = ErrorBody(code, message);
  return res;
}

void ApiResponse::Set(std::string_view name, std::string_view value) {
  // Room for the usual few headers at once (a gateway answer sets four to
  // eight), instead of a reallocation each time the string doubles.
  if (headers.empty()) headers.reserve(384);
  headers += name;
  headers += ": ";
  // The value, in the runs between the CRs and LFs it loses.
  size_t run = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\r' && value[i] != '\n') continue;
    headers.append(value.data() + run, i - run);
    run = i + 1;
  }
  headers.append(value.data() + run, value.size() - run);
  headers += "\r\n";
}

std::string_view ApiResponse::Get(std::string_view name) const {
  std::string_view rest = headers;
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    const size_t colon = line.find(": ");
    if (colon != std::string_view::npos && IEquals(line.substr(0, colon), name))
      return line.substr(colon + 2);
  }
  return {};
}

// Status line, headers and Content-Type: what every answer starts with.
static void AppendHead(const ApiResponse& res, std::string* out) {
  *out += res.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  *out += std::to_string(res.status);
  *out += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(res.status));
  *out += std::string_view(reason.data(), reason.size());
  *out += "\r\n";
  *out += res.headers;
  if (!res.content_type.empty()) {
    *out += "Content-Type: ";
    *out += res.content_type;
    *out += "\r\n";
  }
}

static void AppendConnection(const ApiResponse& res, std::string* out) {
  if (!res.keep_alive) {
    *out += "Connection: close\r\n";
  } else if (res.version == 10) {
    *out += "Connection: keep-alive\r\n";
  }
  *out += "\r\n";
}

void ApiResponse::SerializeTo(std::string* out) const {
  out->clear();
  out->reserve(128 + headers.size() + body.size());
  AppendHead(*this, out);
  *out += "Content-Length: ";
  *out += std::to_string(body.size());
  *out += "\r\n";
  AppendConnection(*this, out);
  *out += body;
}

void ApiResponse::SerializeStreamHeadTo(std::string* out, bool chunked) const {
  out->clear();
  AppendHead(*this, out);
  if (chunked) *out += "Transfer-Encoding: chunked\r\n";
  AppendConnection(*this, out);
}

void Api::SetListenAddress(std::string_view address) {
  if (!options_.pages.public_url_configured) {
    options_.pages.public_url = "http://" + std::string(address);
  }
}

ApiReply Api::Handle(const HttpRequest& req, std::string_view peer_ip) {
  ApiReply reply;
  reply.response.version = req.version();
  reply.response.keep_alive = req.keep_alive();
  const std::string_view target(req.target().data(), req.target().size());
  const size_t qpos = target.find('?');
  Call call{req,
            target.substr(0, qpos),
            qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1),
            {},
            std::string(peer_ip),
            std::string(peer_ip),
            {},
            reply};
  const std::string_view method(req.method_string().data(), req.method_string().size());
  // A header that says one thing, sent twice saying two, is refused: a
  // gateway passes its client's headers on, and the client's copy must not
  // be able to win (credentials, the referrer, a gateway's demands).
  // One pass over the request's fields (not a lookup per name); the first
  // name of this list that disagrees with itself is the one reported.
  static constexpr std::array<std::string_view, 11> kSingle = {"Authorization",
                                                               "X-API-Key",
                                                               "Referer",
                                                               "X-Keyward-Required-Scopes",
                                                               "X-Keyward-Required-Environment",
                                                               "X-Keyward-Cost",
                                                               "Content-Type",
                                                               "Origin",
                                                               "Sec-Fetch-Site",
                                                               "X-Keyward-Session",
                                                               "X-CSRF-Token"};
  std::array<std::optional<std::string_view>, kSingle.size()> seen;
  size_t conflict = kSingle.size();
  for (const auto& field : req) {
    const std::string_view name(field.name_string().data(), field.name_string().size());
    for (size_t i = 0; i < kSingle.size(); ++i) {
      if (name.size() != kSingle[i].size() || !IEquals(name, kSingle[i])) continue;
      const std::string_view value =
          Trim(std::string_view(field.value().data(), field.value().size()));
      if (seen[i] && *seen[i] != value) conflict = std::min(conflict, i);
      seen[i] = value;
      break;
    }
  }
  if (conflict < kSingle.size()) {
    reply.route = metrics_.unmatched_route();
    call.Fail(Status::InvalidRequest(std::string(kSingle[conflict]) +
                                     " is sent twice with different values; send it once"));
    reply.response.Set("Cache-Control", "no-store");
    return reply;
  }
  Router::Match match = router_.Find(method, call.path);
  if (match.route < 0) {
    reply.route = metrics_.unmatched_route();
    if (match.path_known) {
      reply.response.Set("Allow", match.allow);
      call.Error(Code::kMethodNotAllowed,
                 std::string(method) + " is not allowed here; use " + match.allow);
    } else {
      call.Error(Code::kNotFound, "no such route");
    }
  } else {
    reply.route = static_cast<size_t>(match.route);
    call.params = std::move(match.params);
    try {
      Dispatch(call, routes_.routes()[static_cast<size_t>(match.route)]);
    } catch (const std::exception& e) {
      // A bug, not an answer: log it without request data, answer 500.
      call.Error(Code::kInternal, "internal error");
    }
  }
  // Only what a handler marked cacheable (the pages' hashed files) is cached.
  if (reply.response.Get("Cache-Control").empty()) reply.response.Set("Cache-Control", "no-store");
  return reply;
}

void Api::Dispatch(Call& call, const Route& route) {
  // A page of the portal or the console names its session; its cookie is
  // then the credential, checked as the route says.
  const bool protected_route = route.access == Access::kRoot ||
                               route.access == Access::kRootOrManagingKey ||
                               route.access == Access::kSession;
  if (protected_route &&
      (route.access == Access::kSession || !Header(call.req, kSessionHeader).empty())) {
    if (!AuthenticateSession(call, context_, route)) return;
    route.handler(call, context_);
    return;
  }
  switch (route.access) {
    case Access::kPublic:
    case Access::kApiKey:
      break;
    case Access::kRoot:
    case Access::kRootKey:
      if (!Authenticate(call, context_, /*allow_self_service=*/false)) return;
      break;
    case Access::kRootOrManagingKey:
      if (!Authenticate(call, context_, /*allow_self_service=*/true)) return;
      break;
    case Access::kSession:
      return;  // handled above
  }
  route.handler(call, context_);
}

}  // namespace keyward
