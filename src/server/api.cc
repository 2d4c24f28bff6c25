#include "server/api.h"

#include "core/time_format.h"
#include "server/forwarded.h"
#include "server/http_status.h"
#include "server/json_codec.h"

namespace keyward {
namespace {

constexpr int kDefaultPageLimit = 50;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The value of a header, or "" when absent.
std::string_view Header(const HttpRequest& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

// The token of "Authorization: Bearer <token>", or "" when there is none.
std::string_view BearerToken(const HttpRequest& req) {
  const std::string_view auth = Trim(Header(req, "Authorization"));
  if (auth.size() > 7 && IEquals(auth.substr(0, 7), "Bearer ")) return Trim(auth.substr(7));
  return {};
}

// {"data": [...], "next_cursor": "…" | null}
Json ListBody(Json data, const std::string& next_cursor) {
  return {{"data", std::move(data)},
          {"next_cursor", next_cursor.empty() ? Json(nullptr) : Json(next_cursor)}};
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ',' && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string RenderCacheMetrics(const KeyCacheStats& s) {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  auto gauge = [&out](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + std::to_string(v) + "\n";
  };
  counter("keyward_key_cache_hits_total", "Verifications answered from the key cache.", s.hits);
  counter("keyward_key_cache_negative_hits_total",
          "Unknown keys answered from the cache's negative entries.", s.negative_hits);
  counter("keyward_key_cache_misses_total", "Key lookups that went to storage.", s.misses);
  counter("keyward_key_cache_evictions_total", "Entries evicted to stay within cache.max_keys.",
          s.evictions);
  counter("keyward_key_cache_invalidations_total", "Entries dropped because their key changed.",
          s.invalidations);
  gauge("keyward_key_cache_entries", "Keys held in the cache.", s.entries);
  gauge("keyward_key_cache_negative_entries", "Unknown key hashes held in the cache.",
        s.negative_entries);
  return out;
}

std::string VerifyMessage(Code code, const VerifyResult& r) {
  switch (code) {
    case Code::kValid:
      return "the API key is valid";
    case Code::kMissing:
      return "no API key: send it as Authorization: Bearer <key> or in X-API-Key";
    case Code::kMalformed:
      return "the API key is malformed; check it for a typo";
    case Code::kInvalid:
      return "the API key is not valid";
    case Code::kRevoked:
      return "the API key has been revoked";
    case Code::kExpired:
      return "the API key has expired";
    case Code::kDisabled:
      return "the API key is disabled";
    case Code::kWrongEnvironment:
      return "the API key belongs to the " +
             (r.key ? std::string(r.key->environment()) : std::string("other")) +
             " environment, which this endpoint does not accept";
    case Code::kIpNotAllowed:
      return "requests from this IP address are not allowed for this API key";
    case Code::kReferrerNotAllowed:
      return "requests from this referrer are not allowed for this API key";
    case Code::kEndpointNotAllowed:
      return "this API key may not call this endpoint";
    case Code::kInsufficientScope:
      return "the API key lacks a scope this request needs";
    case Code::kRateLimited:
      return "rate limit exceeded; retry after " +
             std::to_string(r.ratelimit ? r.ratelimit->retry_after_seconds : 1) + " s";
    case Code::kQuotaExceeded:
      return "the quota for this API key is used up";
    case Code::kUnavailable:
      return "key storage is unavailable; try again";
    default:
      return std::string(CodeName(code));
  }
}

}  // namespace

struct Api::Principal {
  bool root = false;
  std::string actor;
  std::string workspace_id;  // self-service: its own
  std::string environment;   // self-service: its own
  std::vector<std::string> scopes;
  std::optional<ApiKey> key;  // self-service: the managing key, as stored
};

struct Api::Call {
  const HttpRequest& req;
  std::string_view path;
  std::string_view query;
  std::vector<std::string_view> params;
  std::string peer_ip;    // the TCP peer
  std::string client_ip;  // the client: the peer, or what a trusted proxy says
  Principal who;
  ApiReply& reply;

  void Send(int status, std::string body) {
    reply.response.status = status;
    reply.response.content_type = "application/json";
    reply.response.body = std::move(body);
  }
  void SendJson(int status, const Json& j) { Send(status, Dump(j)); }
  void Error(Code code, std::string_view message) {
    reply.code = code;
    Send(HttpStatusFor(code), ErrorBody(code, message));
  }
  void Fail(const Status& st) {
    if (st.code() == Code::kInternal) {
      // The details go to the log, never to the client.
      Error(Code::kInternal, "internal error");
      return;
    }
    Error(st.code(), st.message());
  }
  Actor actor() const { return Actor{who.actor, client_ip, who.key ? &*who.key : nullptr}; }

  // Query parameters, refusing any not in allowed.
  bool Query(std::initializer_list<std::string_view> allowed,
             std::vector<std::pair<std::string, std::string>>* out) {
    std::string_view q = query;
    while (!q.empty()) {
      const size_t amp = q.find('&');
      const std::string_view part = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
      if (part.empty()) continue;
      const size_t eq = part.find('=');
      std::string name = PercentDecode(part.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1));
      bool ok = false;
      for (auto a : allowed) ok = ok || a == name;
      if (!ok) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Error(Code::kInvalidRequest, "unknown query parameter \"" + name + "\"; expected: " + list);
        return false;
      }
      out->emplace_back(std::move(name), std::move(value));
    }
    return true;
  }

  // A page request from cursor= and limit=.
  bool Page(const std::vector<std::pair<std::string, std::string>>& q, PageRequest* page) {
    page->limit = kDefaultPageLimit;
    for (const auto& [k, v] : q) {
      if (k == "cursor") page->cursor = v;
      if (k == "limit") {
        int n = 0;
        bool digits = !v.empty() && v.size() <= 6;
        for (char c : v) {
          digits = digits && c >= '0' && c <= '9';
          if (digits) n = n * 10 + (c - '0');
        }
        if (!digits || n < 1 || n > 1000) {
          Error(Code::kInvalidRequest, "limit must be an integer between 1 and 1000");
          return false;
        }
        page->limit = n;
      }
    }
    return true;
  }

  // The body as a JSON object, checking its content type.
  std::optional<Json> Body(bool allow_empty) {
    const std::string_view type = Header(req, "Content-Type");
    if (!type.empty() && !req.body().empty()) {
      const std::string_view media = Trim(type.substr(0, type.find(';')));
      if (!IEquals(media, "application/json")) {
        Error(Code::kUnsupportedMediaType, "send the body as application/json");
        return std::nullopt;
      }
    }
    auto j = ParseJsonObject(req.body(), allow_empty);
    if (!j.ok()) {
      Error(j.status().code(), j.status().message());
      return std::nullopt;
    }
    return std::move(*j);
  }

  bool Check(const Status& st) {
    if (st.ok()) return true;
    Fail(st);
    return false;
  }
};

namespace {

std::vector<std::string> RouteNames(const Router& router) {
  std::vector<std::string> names;
  for (const auto& r : router.routes()) names.push_back(r.name);
  return names;
}

}  // namespace

Router Api::BuildRouter() {
  struct Def {
    RouteId id;
    const char* method;
    const char* pattern;
  };
  static constexpr Def kRoutes[] = {
      {kCreateWorkspace, "POST", "/v1/workspaces"},
      {kListWorkspaces, "GET", "/v1/workspaces"},
      {kGetWorkspace, "GET", "/v1/workspaces/{id}"},
      {kUpdateWorkspace, "PATCH", "/v1/workspaces/{id}"},
      {kCreateKey, "POST", "/v1/api-keys"},
      {kListKeys, "GET", "/v1/api-keys"},
      {kGetKey, "GET", "/v1/api-keys/{id}"},
      {kUpdateKey, "PATCH", "/v1/api-keys/{id}"},
      {kRevokeKey, "DELETE", "/v1/api-keys/{id}"},
      {kRotateKey, "POST", "/v1/api-keys/{id}/rotate"},
      {kVerify, "POST", "/v1/keys/verify"},
      {kAuth, "*", "/v1/auth"},
      {kAuthWithPath, "*", "/v1/auth/{path*}"},
      {kAuditLog, "GET", "/v1/audit-log"},
      {kUsage, "GET", "/v1/usage"},
      {kHealthz, "GET", "/healthz"},
      {kReadyz, "GET", "/readyz"},
      {kMetrics, "GET", "/metrics"},
      {kOpenApi, "GET", "/openapi.json"},
  };
  static_assert(std::size(kRoutes) == kRouteCount);
  Router router;
  for (const auto& d : kRoutes) {
    if (router.Add(d.method, d.pattern) != d.id) std::abort();  // kRoutes lists RouteId in order
  }
  return router;
}

Api::Api(ApiOptions options)
    : options_(std::move(options)),
      service_(options_.service),
      router_(BuildRouter()),
      metrics_(RouteNames(router_)) {}

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
  headers += name;
  headers += ": ";
  for (char c : value) {
    if (c != '\r' && c != '\n') headers += c;
  }
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

void ApiResponse::SerializeTo(std::string* out) const {
  out->clear();
  out->reserve(128 + headers.size() + body.size());
  *out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  *out += std::to_string(status);
  *out += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  *out += std::string_view(reason.data(), reason.size());
  *out += "\r\n";
  *out += headers;
  if (!content_type.empty()) {
    *out += "Content-Type: ";
    *out += content_type;
    *out += "\r\n";
  }
  *out += "Content-Length: ";
  *out += std::to_string(body.size());
  *out += "\r\n";
  if (!keep_alive) {
    *out += "Connection: close\r\n";
  } else if (version == 10) {
    *out += "Connection: keep-alive\r\n";
  }
  *out += "\r\n";
  *out += body;
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
  for (const char* name : {"Authorization", "X-API-Key", "Referer", "X-Keyward-Required-Scopes",
                           "X-Keyward-Required-Environment", "Content-Type"}) {
    std::optional<std::string_view> first;
    for (auto [it, end] = req.equal_range(name); it != end; ++it) {
      const std::string_view v(it->value().data(), it->value().size());
      if (first && Trim(*first) != Trim(v)) {
        reply.route = metrics_.unmatched_route();
        call.Error(Code::kInvalidRequest, std::string(name) +
                                              " is sent twice with different values; send it "
                                              "once");
        reply.response.Set("Cache-Control", "no-store");
        return reply;
      }
      first = v;
    }
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
      Dispatch(call, match.route);
    } catch (const std::exception& e) {
      // A bug, not an answer: log it without request data, answer 500.
      call.Error(Code::kInternal, "internal error");
    }
  }
  reply.response.Set("Cache-Control", "no-store");
  return reply;
}

void Api::Dispatch(Call& call, int route) {
  switch (static_cast<RouteId>(route)) {
    case kCreateWorkspace:
      return CreateWorkspace(call);
    case kListWorkspaces:
      return ListWorkspaces(call);
    case kGetWorkspace:
      return GetWorkspace(call);
    case kUpdateWorkspace:
      return UpdateWorkspace(call);
    case kCreateKey:
      return CreateKey(call);
    case kListKeys:
      return ListKeys(call);
    case kGetKey:
      return GetKey(call);
    case kUpdateKey:
      return UpdateKey(call);
    case kRevokeKey:
      return RevokeKey(call);
    case kRotateKey:
      return RotateKey(call);
    case kVerify:
      return VerifyKey(call);
    case kAuth:
    case kAuthWithPath:
      return GatewayAuth(call);
    case kAuditLog:
      return AuditLog(call);
    case kUsage:
      return Usage(call);
    case kHealthz:
      return call.SendJson(200, {{"status", "ok"}});
    case kReadyz:
      return Ready(call);
    case kMetrics:
      call.reply.response.status = 200;
      call.reply.response.content_type = ("text/plain; version=0.0.4; charset=utf-8");
      call.reply.response.body = metrics_.Render();
      if (options_.cache != nullptr)
        call.reply.response.body += RenderCacheMetrics(options_.cache->Stats());
      return;
    case kOpenApi:
      return call.Send(200, std::string(OpenApiDocument()));
    case kRouteCount:
      break;
  }
  call.Error(Code::kNotFound, "no such route");
}

std::optional<Json> Api::WriteBody(Call& call, bool allow_empty) {
  auto body = call.Body(allow_empty);
  if (!body) return body;
  // A key pasted into a name, a meta value or a reason would be stored, listed
  // and audited in full: refuse it before anything is written.
  if (auto prefix = service_->FindKeyIn(Dump(*body))) {
    call.Error(Code::kInvalidRequest,
               "the request holds an API key (" + *prefix +
                   "…); keys are secrets and are never stored in names, meta or reasons");
    return std::nullopt;
  }
  return body;
}

void Api::Ready(Call& call) {
  if (stopping_.load()) return call.Error(Code::kUnavailable, "keyward is stopping");
  if (options_.ready && !options_.ready())
    return call.Error(Code::kUnavailable, "storage is not answering");
  call.SendJson(200, {{"status", "ready"}});
}

// ---- Authentication ----

bool Api::Authenticate(Call& call, bool allow_self_service) {
  auto client = ClientAddress(call.req, call.peer_ip, options_.trusted_proxies);
  if (!client.ok()) {
    call.Fail(client.status());
    return false;
  }
  call.client_ip = std::move(*client);
  const std::string_view token = BearerToken(call.req);
  if (token.empty()) {
    call.reply.response.Set("WWW-Authenticate", "Bearer realm=\"keyward\"");
    call.Error(Code::kUnauthorized,
               "send a root key or a keys:manage API key as Authorization: Bearer <key>");
    return false;
  }
  const Verifier& verifier = *options_.verifier;
  const Timestamp now = service_->clock().Now();
  if (token.starts_with("kw_root_")) {
    // Guessing root keys is limited like guessing API keys: per address.
    if (verifier.FailureLimited(call.client_ip, now)) {
      call.Error(Code::kRateLimited,
                 "too many failed authentications from this address; retry in a minute");
      return false;
    }
    auto root = service_->AuthenticateRootKey(token);
    if (!root.ok()) {
      if (root.status().code() != Code::kUnauthorized) {
        call.Fail(root.status());
        return false;
      }
      verifier.RecordFailure(call.client_ip, now);
      call.reply.response.Set("WWW-Authenticate",
                              "Bearer realm=\"keyward\", error=\"invalid_token\"");
      call.Error(Code::kUnauthorized, root.status().message());
      return false;
    }
    call.who.root = true;
    call.who.actor = root->id;
    call.reply.key_prefix = root->short_prefix;
    return true;
  }
  // A self-service API key: it must verify, from this caller, with
  // keys:manage. Authentication, not a verification: no usage is counted.
  static const std::vector<std::string> kManage = {"keys:manage"};
  VerifyRequest vr;
  vr.key = token;
  vr.ip = call.client_ip;
  vr.referrer = Header(call.req, "Referer");
  vr.scopes = kManage;
  vr.management = true;
  const VerifyResult r = verifier.Verify(vr);
  if (r.key) call.reply.key_prefix = r.key->short_prefix();
  if (r.code == Code::kUnavailable) {
    call.Error(Code::kUnavailable, "key storage is unavailable; try again");
    return false;
  }
  if (r.code == Code::kRateLimited) {
    call.Error(Code::kRateLimited, VerifyMessage(r.code, r));
    return false;
  }
  if (r.code == Code::kInsufficientScope || (r.valid() && !allow_self_service)) {
    call.Error(Code::kInsufficientScope, allow_self_service
                                             ? "this API key lacks the keys:manage scope"
                                             : "this route needs a root key");
    return false;
  }
  if (!r.valid()) {
    call.reply.response.Set("WWW-Authenticate",
                            "Bearer realm=\"keyward\", error=\"invalid_token\"");
    if (r.code == Code::kMalformed) {
      call.Error(Code::kUnauthorized,
                 "the credential is malformed: it is neither a root key (kw_root_…) nor an API "
                 "key of this deployment (" +
                     service_->format().product() + "_<environment>_…); check it for a typo");
    } else {
      call.Error(Code::kUnauthorized,
                 "the API key is not valid for management (" + std::string(CodeName(r.code)) + ")");
    }
    return false;
  }
  // The managing key as stored: what it may hand out is bounded by it.
  auto record = service_->GetKey(r.key->id());
  if (!record.ok()) {
    if (record.status().IsNotFound()) {
      call.Error(Code::kUnauthorized, "the API key is not valid for management (invalid)");
    } else {
      call.Fail(record.status());
    }
    return false;
  }
  call.who.actor = r.key->id();
  call.who.workspace_id = r.key->workspace_id();
  call.who.environment = r.key->environment();
  call.who.scopes = r.key->scopes();
  call.who.key = std::move(*record);
  return true;
}

bool Api::RequireRoot(Call& call) { return Authenticate(call, /*allow_self_service=*/false); }

std::optional<ApiKey> Api::LoadVisibleKey(Call& call, std::string_view id) {
  auto key = service_->GetKey(id);
  if (!key.ok()) {
    call.Fail(key.status());
    return std::nullopt;
  }
  if (!call.who.root &&
      (key->workspace_id != call.who.workspace_id || key->environment != call.who.environment)) {
    call.Error(Code::kNotFound, "no API key " + std::string(id));
    return std::nullopt;
  }
  call.reply.key_prefix = key->short_prefix;
  return std::move(*key);
}

bool Api::ScopesWithinCaller(Call& call, const std::vector<std::string>& scopes) {
  if (call.who.root) return true;
  for (const auto& s : scopes) {
    bool held = false;
    for (const auto& g : call.who.scopes) held = held || ScopeGrants(g, s);
    if (!held) {
      call.Error(Code::kInsufficientScope,
                 "cannot grant scope \"" + s + "\", which the calling key does not hold");
      return false;
    }
  }
  return true;
}

// ---- Workspaces ----

Json Api::WorkspaceObject(const Workspace& ws) {
  auto active = service_->CountActiveKeys(ws.id);
  return WorkspaceJson(ws, service_->MaxActiveKeys(ws), active.ok() ? *active : 0);
}

void Api::CreateWorkspace(Call& call) {
  if (!RequireRoot(call)) return;
  auto body = WriteBody(call, false);
  if (!body) return;
  FieldReader f(*body);
  std::string name;
  std::optional<int64_t> max;
  if (!call.Check(f.OnlyFields({"name", "max_active_keys"})) ||
      !call.Check(f.RequiredString("name", &name)) ||
      !call.Check(f.Int("max_active_keys", 1, 100000, &max))) {
    return;
  }
  auto ws = service_->CreateWorkspace(std::move(name), max, call.actor());
  if (!ws.ok()) return call.Fail(ws.status());
  call.SendJson(201, WorkspaceObject(*ws));
}

void Api::ListWorkspaces(Call& call) {
  if (!RequireRoot(call)) return;
  std::vector<std::pair<std::string, std::string>> q;
  PageRequest page;
  if (!call.Query({"cursor", "limit"}, &q) || !call.Page(q, &page)) return;
  auto list = service_->ListWorkspaces(page);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& ws : list->items) data.push_back(WorkspaceObject(ws));
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

void Api::GetWorkspace(Call& call) {
  if (!RequireRoot(call)) return;
  auto ws = service_->GetWorkspace(call.params[0]);
  if (!ws.ok()) return call.Fail(ws.status());
  call.SendJson(200, WorkspaceObject(*ws));
}

void Api::UpdateWorkspace(Call& call) {
  if (!RequireRoot(call)) return;
  auto body = WriteBody(call, false);
  if (!body) return;
  FieldReader f(*body);
  WorkspaceUpdate u;
  if (!call.Check(f.OnlyFields({"name", "max_active_keys"})) ||
      !call.Check(f.String("name", &u.name)) ||
      !call.Check(f.NullableInt("max_active_keys", 1, 100000, &u.max_active_keys))) {
    return;
  }
  auto ws = service_->UpdateWorkspace(call.params[0], u, call.actor());
  if (!ws.ok()) return call.Fail(ws.status());
  call.SendJson(200, WorkspaceObject(*ws));
}

// ---- API keys ----

void Api::CreateKey(Call& call) {
  if (!Authenticate(call, true)) return;
  auto body = WriteBody(call, false);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::string> workspace_id, environment, meta;
  NewKeyParams p;
  std::optional<std::vector<std::string>> scopes, ips, referrers, endpoints;
  std::optional<std::optional<Timestamp>> expires;
  std::optional<std::optional<RateLimit>> rate;
  if (!call.Check(f.OnlyFields({"workspace_id", "environment", "name", "scopes", "expires_at",
                                "ip_allowlist", "referrer_allowlist", "endpoint_allowlist",
                                "rate_limit", "meta"})) ||
      !call.Check(f.String("workspace_id", &workspace_id)) ||
      !call.Check(f.String("environment", &environment)) ||
      !call.Check(f.RequiredString("name", &p.name)) ||
      !call.Check(f.StringList("scopes", &scopes)) ||
      !call.Check(f.NullableTime("expires_at", &expires)) ||
      !call.Check(f.StringList("ip_allowlist", &ips)) ||
      !call.Check(f.StringList("referrer_allowlist", &referrers)) ||
      !call.Check(f.StringList("endpoint_allowlist", &endpoints)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &rate)) ||
      !call.Check(f.Object("meta", &meta))) {
    return;
  }
  if (!call.who.root) {
    if (workspace_id && *workspace_id != call.who.workspace_id) {
      return call.Error(Code::kNotFound, "no workspace " + *workspace_id);
    }
    if (environment && *environment != call.who.environment) {
      return call.Error(Code::kInsufficientScope, "this key may only create keys in the " +
                                                      call.who.environment + " environment");
    }
    workspace_id = call.who.workspace_id;
    environment = call.who.environment;
  }
  if (call.who.key) {
    // Left out means "as the caller"; asking outright for no restriction the
    // caller has is refused rather than quietly narrowed.
    const ApiKey& caller = *call.who.key;
    const char* widened = nullptr;
    if (ips && ips->empty() && !caller.ip_allowlist.empty()) widened = "ip_allowlist";
    if (referrers && referrers->empty() && !caller.referrer_allowlist.empty())
      widened = "referrer_allowlist";
    if (endpoints && endpoints->empty() && !caller.endpoint_allowlist.empty())
      widened = "endpoint_allowlist";
    if (expires && !*expires && caller.expires_at) widened = "expires_at";
    if (rate && !*rate && caller.rate_limit) widened = "rate_limit";
    if (widened != nullptr) {
      return call.Error(Code::kForbidden, std::string(widened) +
                                              " cannot be left unrestricted: the calling key " +
                                              caller.id + " has one, and bounds what it creates");
    }
  }
  if (!workspace_id) return call.Error(Code::kInvalidRequest, "workspace_id is required");
  if (!environment) return call.Error(Code::kInvalidRequest, "environment is required");
  p.workspace_id = std::move(*workspace_id);
  p.environment = std::move(*environment);
  if (scopes) p.scopes = std::move(*scopes);
  if (!ScopesWithinCaller(call, p.scopes)) return;
  if (ips) p.ip_allowlist = std::move(*ips);
  if (referrers) p.referrer_allowlist = std::move(*referrers);
  if (endpoints) p.endpoint_allowlist = std::move(*endpoints);
  if (rate) p.rate_limit = *rate;
  if (meta) p.meta_json = std::move(*meta);
  if (expires) p.expires_at = *expires;
  auto created = service_->CreateKey(std::move(p), call.actor());
  if (!created.ok()) return call.Fail(created.status());
  call.reply.key_prefix = created->record.short_prefix;
  Json j = KeyJson(created->record, service_->clock().Now());
  j["key"] = created->secret;
  call.SendJson(201, j);
}

void Api::ListKeys(Call& call) {
  if (!Authenticate(call, true)) return;
  std::vector<std::pair<std::string, std::string>> q;
  PageRequest page;
  if (!call.Query({"workspace_id", "environment", "status", "cursor", "limit"}, &q) ||
      !call.Page(q, &page)) {
    return;
  }
  KeyFilter filter;
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") filter.workspace_id = v;
    if (k == "environment") filter.environment = v;
    if (k == "status" && !v.empty()) {
      filter.status = KeyStatusFromName(v);
      if (!filter.status) {
        return call.Error(Code::kInvalidRequest,
                          "status must be one of active, revoked, expired, disabled");
      }
    }
  }
  if (!call.who.root) {
    if ((!filter.workspace_id.empty() && filter.workspace_id != call.who.workspace_id) ||
        (!filter.environment.empty() && filter.environment != call.who.environment)) {
      return call.Error(Code::kNotFound, "no such workspace or environment");
    }
    filter.workspace_id = call.who.workspace_id;
    filter.environment = call.who.environment;
  }
  auto list = service_->ListKeys(filter, page);
  if (!list.ok()) return call.Fail(list.status());
  const Timestamp now = service_->clock().Now();
  std::vector<std::string> ids;
  for (const auto& k : list->items) ids.push_back(k.id);
  auto counts = service_->CountRequests(ids);
  if (!counts.ok()) return call.Fail(counts.status());
  Json data = Json::array();
  for (const auto& k : list->items) data.push_back(KeyJson(k, now, &(*counts)[k.id]));
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

void Api::GetKey(Call& call) {
  if (!Authenticate(call, true)) return;
  auto key = LoadVisibleKey(call, call.params[0]);
  if (!key) return;
  auto counts = service_->CountRequests({key->id});
  if (!counts.ok()) return call.Fail(counts.status());
  call.SendJson(200, KeyJson(*key, service_->clock().Now(), &(*counts)[key->id]));
}

void Api::UpdateKey(Call& call) {
  if (!Authenticate(call, true)) return;
  auto body = WriteBody(call, false);
  if (!body) return;
  FieldReader f(*body);
  KeyUpdate u;
  if (!call.Check(
          f.OnlyFields({"name", "scopes", "ip_allowlist", "referrer_allowlist",
                        "endpoint_allowlist", "rate_limit", "meta", "enabled", "expires_at"})) ||
      !call.Check(f.String("name", &u.name)) || !call.Check(f.StringList("scopes", &u.scopes)) ||
      !call.Check(f.StringList("ip_allowlist", &u.ip_allowlist)) ||
      !call.Check(f.StringList("referrer_allowlist", &u.referrer_allowlist)) ||
      !call.Check(f.StringList("endpoint_allowlist", &u.endpoint_allowlist)) ||
      !call.Check(f.NullableRateLimit("rate_limit", &u.rate_limit)) ||
      !call.Check(f.Object("meta", &u.meta_json)) || !call.Check(f.Bool("enabled", &u.enabled)) ||
      !call.Check(f.NullableTime("expires_at", &u.expires_at))) {
    return;
  }
  auto target = LoadVisibleKey(call, call.params[0]);
  // A managing key may not change a key more powerful than itself.
  if (!target || !ScopesWithinCaller(call, target->scopes)) return;
  if (u.scopes && !ScopesWithinCaller(call, *u.scopes)) return;
  auto key = service_->UpdateKey(call.params[0], u, call.actor());
  if (!key.ok()) return call.Fail(key.status());
  call.SendJson(200, KeyJson(*key, service_->clock().Now()));
}

void Api::RevokeKey(Call& call) {
  if (!Authenticate(call, true)) return;
  auto body = WriteBody(call, true);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::string> reason;
  if (!call.Check(f.OnlyFields({"reason"})) || !call.Check(f.String("reason", &reason))) return;
  if (!LoadVisibleKey(call, call.params[0])) return;
  auto key = service_->RevokeKey(call.params[0], reason.value_or(""), call.actor());
  if (!key.ok()) return call.Fail(key.status());
  call.SendJson(
      200, {{"id", key->id}, {"status", "revoked"}, {"revoked_at", TimeOrNull(key->revoked_at)}});
}

void Api::RotateKey(Call& call) {
  if (!Authenticate(call, true)) return;
  auto body = WriteBody(call, true);
  if (!body) return;
  FieldReader f(*body);
  std::optional<int64_t> grace;
  std::optional<std::optional<Timestamp>> expires;
  if (!call.Check(f.OnlyFields({"grace_seconds", "expires_at"})) ||
      !call.Check(f.Int("grace_seconds", 0, 30 * 86400, &grace)) ||
      !call.Check(f.NullableTime("expires_at", &expires))) {
    return;
  }
  auto target = LoadVisibleKey(call, call.params[0]);
  // Rotation hands out a secret with the old key's scopes: the caller must hold them.
  if (!target || !ScopesWithinCaller(call, target->scopes)) return;
  auto rotated = service_->RotateKey(call.params[0], grace.value_or(0), expires, call.actor());
  if (!rotated.ok()) return call.Fail(rotated.status());
  auto old = service_->GetKey(call.params[0]);
  Json j = KeyJson(rotated->record, service_->clock().Now());
  j["key"] = rotated->secret;
  j["old_key"] = {{"id", std::string(call.params[0])},
                  {"expires_at", old.ok() ? TimeOrNull(old->expires_at) : Json(nullptr)}};
  call.reply.key_prefix = rotated->record.short_prefix;
  call.SendJson(201, j);
}

// ---- Verification ----

void Api::VerifyKey(Call& call) {
  if (!RequireRoot(call)) return;
  auto body = call.Body(false);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::string> key, environment, ip, referrer, method, path;
  std::optional<std::vector<std::string>> scopes;
  if (!call.Check(
          f.OnlyFields({"key", "environment", "ip", "referrer", "method", "path", "scopes"})) ||
      !call.Check(f.String("key", &key)) || !call.Check(f.String("environment", &environment)) ||
      !call.Check(f.String("ip", &ip)) || !call.Check(f.String("referrer", &referrer)) ||
      !call.Check(f.String("method", &method)) || !call.Check(f.String("path", &path)) ||
      !call.Check(f.StringList("scopes", &scopes))) {
    return;
  }
  if (ip && !ip->empty() && !ParseIpAddress(*ip)) {
    return call.Error(Code::kInvalidRequest,
                      "ip must be an IPv4 or IPv6 address, like 203.0.113.7 or 2001:db8::1");
  }
  VerifyRequest vr;
  vr.key = key ? std::string_view(*key) : std::string_view();
  if (environment) vr.environment = *environment;
  if (ip) vr.ip = *ip;
  if (referrer) vr.referrer = *referrer;
  if (method) vr.method = *method;
  if (path) vr.path = *path;
  if (scopes) vr.scopes = *scopes;
  const VerifyResult r = options_.verifier->Verify(vr);
  metrics_.RecordVerification(r.code);
  if (r.code == Code::kMalformed) call.reply.reason = KeyParseErrorName(r.parse_error);
  if (r.code == Code::kUnavailable) return call.Error(Code::kUnavailable, VerifyMessage(r.code, r));
  Json j = {{"valid", r.valid()}, {"code", CodeName(r.code)}};
  if (!r.valid()) j["message"] = VerifyMessage(r.code, r);
  if (r.key) {
    const VerifiableKey& k = *r.key;
    call.reply.key_prefix = k.short_prefix();
    Json meta = Json::parse(k.meta_json(), nullptr, false);
    j["key_id"] = k.id();
    j["workspace_id"] = k.workspace_id();
    j["environment"] = k.environment();
    j["name"] = k.name();
    j["scopes"] = k.scopes();
    j["meta"] = meta.is_object() ? meta : Json::object();
    j["expires_at"] = TimeOrNull(k.expires_at());
  }
  if (r.ratelimit) {
    j["ratelimit"] = {{"limit", r.ratelimit->limit},
                      {"remaining", r.ratelimit->remaining},
                      {"reset", r.ratelimit->reset_seconds}};
  }
  call.reply.code = r.code;
  call.SendJson(200, j);
}

void Api::GatewayAuth(Call& call) {
  const HttpRequest& req = call.req;
  std::string_view key = BearerToken(req);
  const std::string_view api_key_header = Trim(Header(req, "X-API-Key"));
  if (!key.empty() && !api_key_header.empty() && key != api_key_header) {
    return call.Error(Code::kInvalidRequest,
                      "Authorization and X-API-Key carry different keys; send one key");
  }
  if (key.empty()) key = api_key_header;

  std::string envoy_path;
  if (!call.params.empty()) {
    // Envoy ext_authz style: /v1/auth/<original path>?<original query>.
    envoy_path = "/" + std::string(call.params[0]);
    if (!call.query.empty()) envoy_path += "?" + std::string(call.query);
  }
  auto facts = GatewayFacts(req, call.peer_ip, envoy_path, options_.trusted_proxies);
  if (!facts.ok()) return call.Fail(facts.status());
  const std::vector<std::string> scopes = SplitList(Header(req, "X-Keyward-Required-Scopes"));

  VerifyRequest vr;
  vr.key = key;
  vr.environment = Trim(Header(req, "X-Keyward-Required-Environment"));
  vr.ip = facts->client_ip;
  vr.referrer = Header(req, "Referer");
  vr.method = facts->method;
  vr.path = facts->uri;
  vr.scopes = scopes;
  const VerifyResult r = options_.verifier->Verify(vr);
  metrics_.RecordVerification(r.code);
  call.reply.code = r.code;
  if (r.code == Code::kMalformed) call.reply.reason = KeyParseErrorName(r.parse_error);
  auto& res = call.reply.response;
  if (r.key) call.reply.key_prefix = r.key->short_prefix();
  if (r.ratelimit) {
    res.Set("RateLimit-Limit", std::to_string(r.ratelimit->limit));
    res.Set("RateLimit-Remaining", std::to_string(r.ratelimit->remaining));
    res.Set("RateLimit-Reset", std::to_string(r.ratelimit->reset_seconds));
  }
  if (r.valid()) {
    const VerifiableKey& k = *r.key;
    res.status = 200;
    res.Set("X-Keyward-Key-Id", k.id());
    res.Set("X-Keyward-Workspace-Id", k.workspace_id());
    res.Set("X-Keyward-Environment", k.environment());
    std::string joined;
    for (const auto& s : k.scopes()) joined += (joined.empty() ? "" : ",") + s;
    res.Set("X-Keyward-Scopes", joined);
    return;
  }
  if (r.code == Code::kRateLimited && r.ratelimit) {
    res.Set("Retry-After", std::to_string(r.ratelimit->retry_after_seconds));
  }
  if (HttpStatusFor(r.code) == 401) {
    res.Set("WWW-Authenticate", r.code == Code::kMissing
                                    ? "Bearer realm=\"api\""
                                    : "Bearer realm=\"api\", error=\"invalid_token\"");
  }
  call.Send(HttpStatusFor(r.code), ErrorBody(r.code, VerifyMessage(r.code, r)));
}

// ---- Audit log ----

void Api::AuditLog(Call& call) {
  if (!RequireRoot(call)) return;
  std::vector<std::pair<std::string, std::string>> q;
  PageRequest page;
  if (!call.Query({"workspace_id", "target", "cursor", "limit"}, &q) || !call.Page(q, &page))
    return;
  AuditFilter filter;
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") filter.workspace_id = v;
    if (k == "target") filter.target = v;
  }
  auto list = service_->ListAudit(filter, page);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& e : list->items) data.push_back(AuditJson(e));
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

// ---- Usage ----

void Api::Usage(Call& call) {
  if (!Authenticate(call, true)) return;
  std::vector<std::pair<std::string, std::string>> q;
  if (!call.Query({"workspace_id", "key_id", "from", "to", "granularity"}, &q)) return;
  std::string workspace_id, key_id, from_text, to_text, granularity = "hour";
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") workspace_id = v;
    if (k == "key_id") key_id = v;
    if (k == "from") from_text = v;
    if (k == "to") to_text = v;
    if (k == "granularity") granularity = v;
  }
  int64_t bucket_minutes;
  int64_t default_span_minutes;
  if (granularity == "minute") {
    bucket_minutes = 1;
    default_span_minutes = 60;
  } else if (granularity == "hour") {
    bucket_minutes = 60;
    default_span_minutes = 24 * 60;
  } else if (granularity == "day") {
    bucket_minutes = 24 * 60;
    default_span_minutes = 30 * 24 * 60;
  } else {
    return call.Error(Code::kInvalidRequest, "granularity must be minute, hour or day");
  }
  if (!key_id.empty()) {
    auto key = LoadVisibleKey(call, key_id);
    if (!key) return;
    if (!workspace_id.empty() && workspace_id != key->workspace_id) {
      return call.Error(Code::kNotFound, "no API key " + key_id + " in workspace " + workspace_id);
    }
    workspace_id = key->workspace_id;
  }
  if (!call.who.root) {
    if (!workspace_id.empty() && workspace_id != call.who.workspace_id) {
      return call.Error(Code::kNotFound, "no workspace " + workspace_id);
    }
    workspace_id = call.who.workspace_id;
  }
  if (workspace_id.empty())
    return call.Error(Code::kInvalidRequest, "workspace_id or key_id is required");
  if (call.who.root) {
    auto ws = service_->GetWorkspace(workspace_id);
    if (!ws.ok()) return call.Fail(ws.status());
  }
  // Buckets are whole minutes, hours or days (UTC); "to" rounds up to a bucket edge.
  const int64_t now_minute = service_->clock().Now() / kMillisPerMinute;
  int64_t to_minute = now_minute + 1;
  if (!to_text.empty()) {
    auto t = ParseRfc3339(to_text);
    if (!t)
      return call.Error(Code::kInvalidRequest,
                        "to must be an RFC 3339 time like 2026-01-31T00:00:00Z");
    to_minute = (*t + kMillisPerMinute - 1) / kMillisPerMinute;
  }
  to_minute = (to_minute + bucket_minutes - 1) / bucket_minutes * bucket_minutes;
  int64_t from_minute = to_minute - default_span_minutes;
  if (!from_text.empty()) {
    auto f = ParseRfc3339(from_text);
    if (!f)
      return call.Error(Code::kInvalidRequest,
                        "from must be an RFC 3339 time like 2026-01-01T00:00:00Z");
    from_minute = *f / kMillisPerMinute;
  }
  from_minute = from_minute / bucket_minutes * bucket_minutes;
  if (from_minute >= to_minute) return call.Error(Code::kInvalidRequest, "from must be before to");
  constexpr int64_t kMaxBuckets = 1500;
  if ((to_minute - from_minute) / bucket_minutes > kMaxBuckets) {
    return call.Error(Code::kInvalidRequest,
                      "at most " + std::to_string(kMaxBuckets) + " " + granularity +
                          " buckets at once; narrow from/to or pick a coarser granularity");
  }
  // A managing key sees its own environment's usage only.
  UsageQuery uq{workspace_id, key_id,    call.who.root ? std::string() : call.who.environment,
                from_minute,  to_minute, bucket_minutes};
  auto points = service_->QueryUsage(uq);
  if (!points.ok()) return call.Fail(points.status());
  Json data = Json::array();
  int64_t total_valid = 0, total = 0;
  for (size_t i = 0; i < points->size();) {
    const int64_t bucket = (*points)[i].bucket_minute;
    Json by_code = Json::object();
    int64_t valid = 0, all = 0;
    for (; i < points->size() && (*points)[i].bucket_minute == bucket; ++i) {
      const UsagePoint& p = (*points)[i];
      by_code[std::string(CodeName(p.code))] = p.count;
      all += p.count;
      if (p.code == Code::kValid) valid += p.count;
    }
    total_valid += valid;
    total += all;
    data.push_back({{"start", FormatRfc3339(bucket * kMillisPerMinute)},
                    {"valid", valid},
                    {"refused", all - valid},
                    {"total", all},
                    {"by_code", std::move(by_code)}});
  }
  call.SendJson(200, {{"workspace_id", workspace_id},
                      {"key_id", key_id.empty() ? Json(nullptr) : Json(key_id)},
                      {"granularity", granularity},
                      {"from", FormatRfc3339(from_minute * kMillisPerMinute)},
                      {"to", FormatRfc3339(to_minute * kMillisPerMinute)},
                      {"retention_days", options_.usage_retention_days},
                      {"valid", total_valid},
                      {"total", total},
                      {"data", std::move(data)}});
}

}  // namespace keyward
