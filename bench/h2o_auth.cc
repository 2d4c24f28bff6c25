// h2o_auth: keyward's GET /v1/auth answered through h2o's HTTP/1.1 server
// (Debian's libh2o-evloop) instead of Boost.Beast, for bench/http_vs_nginx.sh
// to measure what another HTTP engine would give (issue 18's first lead).
//
// A benchmark contender, not a server to deploy: it opens the same App as
// `keyward serve` (same data directory, same verifier, cache, rate limits,
// usage counting and usage flush, access log lines buffered the same way),
// and answers GET /v1/auth with a bearer key as the gateway route does:
// 200 with X-Keyward-Key-Id, -Workspace-Id, -Environment, -Scopes and the
// rate-limit fields, or the refusal's status with its JSON error. Nothing
// else: no other route, no X-API-Key, no forwarded headers, no Envoy path.
// One thread (one event loop).
//
//   h2o_auth --data DIR --port PORT
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "app/app.h"
#include "server/api.h"
#include "server/config.h"
#include "server/http_status.h"
#include "server/log.h"

namespace {

keyward::App* g_app = nullptr;
h2o_globalconf_t g_config;
h2o_context_t g_ctx;
h2o_accept_ctx_t g_accept_ctx;

h2o_iovec_t Dup(h2o_mem_pool_t* pool, std::string_view s) {
  return h2o_strdup(pool, s.data(), s.size());
}

void AddHeader(h2o_req_t* req, const char* name, std::string_view value) {
  h2o_add_header_by_str(&req->pool, &req->res.headers, name, std::strlen(name), 0, nullptr,
                        value.data(), value.size());
}

int OnAuth(h2o_handler_t*, h2o_req_t* req) {
  const auto start = std::chrono::steady_clock::now();
  if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/v1/auth"))) {
    return -1;
  }
  std::string_view key;
  const ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
  if (at != -1) {
    const h2o_iovec_t& v = req->headers.entries[at].value;
    std::string_view auth(v.base, v.len);
    if (auth.size() > 7 && strncasecmp(auth.data(), "Bearer ", 7) == 0) key = auth.substr(7);
  }
  char ip[INET6_ADDRSTRLEN] = "";
  sockaddr_storage ss;
  if (req->conn->callbacks->get_peername(req->conn, reinterpret_cast<sockaddr*>(&ss)) != 0) {
    if (ss.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, ip, sizeof ip);
    }
  }
  keyward::VerifyRequest vr;
  vr.key = key;
  vr.ip = ip;
  vr.method = std::string_view(req->method.base, req->method.len);
  vr.path = std::string_view(req->path.base, req->path.len);
  const keyward::VerifyResult r = g_app->verifier().Verify(vr);
  g_app->api().metrics().RecordVerification(r.code);

  const int status = keyward::HttpStatusFor(r.code);
  req->res.status = status;
  req->res.reason = status == 200 ? "OK" : "Refused";
  if (r.ratelimit) {
    AddHeader(req, "RateLimit-Limit", std::to_string(r.ratelimit->limit));
    AddHeader(req, "RateLimit-Remaining", std::to_string(r.ratelimit->remaining));
    AddHeader(req, "RateLimit-Reset", std::to_string(r.ratelimit->reset_seconds));
  }
  static h2o_generator_t generator = {nullptr, nullptr};
  h2o_iovec_t body = h2o_iovec_init(nullptr, 0);
  if (r.valid()) {
    const keyward::VerifiableKey& k = *r.key;
    AddHeader(req, "X-Keyward-Key-Id", k.id());
    AddHeader(req, "X-Keyward-Workspace-Id", k.workspace_id());
    AddHeader(req, "X-Keyward-Environment", k.environment());
    std::string scopes(k.scopes_text());
    std::replace(scopes.begin(), scopes.end(), ' ', ',');
    AddHeader(req, "X-Keyward-Scopes", scopes);
    AddHeader(req, "Cache-Control", "no-store");
  } else {
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                   H2O_STRLIT("application/json"));
    const std::string text = std::string("{\"error\":\"") + std::string(keyward::CodeName(r.code)) +
                             "\",\"message\":\"the API key is not valid\"}";
    body = Dup(&req->pool, text);
  }
  req->res.content_length = body.len;
  h2o_start_response(req, &generator);
  h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);

  // The access log line keyward writes for a request, buffered the same way.
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  keyward::LogLine line("info", "request");
  // The path without its query, as keyward logs it: a query may hold a key.
  line.Str("method", vr.method).Str("path", vr.path.substr(0, vr.path.find('?')));
  line.Int("status", status);
  line.Num("duration_ms", seconds * 1000).Str("ip", ip);
  if (r.key) line.Str("key_prefix", r.key->short_prefix());
  line.Str("code", keyward::CodeName(r.code));
  line.EmitBuffered();
  return 0;
}

void OnAccept(h2o_socket_t* listener, const char* err) {
  if (err != nullptr) return;
  if (h2o_socket_t* sock = h2o_evloop_socket_accept(listener)) h2o_accept(&g_accept_ctx, sock);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--data") == 0) data = argv[i + 1];
    if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
  }
  if (data.empty() || port <= 0) {
    std::fprintf(stderr, "usage: h2o_auth --data DIR --port PORT\n");
    return 2;
  }
  keyward::ConfigFlags flags;
  flags.data_dir = data;
  flags.threads = 1;
  auto config = keyward::LoadConfig(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "h2o_auth: %s\n", config.status().message().c_str());
    return 2;
  }
  auto app = keyward::App::Open(*config);
  if (!app.ok()) {
    std::fprintf(stderr, "h2o_auth: %s\n", app.status().message().c_str());
    return 1;
  }
  g_app = app->get();
  if (auto s = g_app->StartBackground(); !s.ok()) {
    std::fprintf(stderr, "h2o_auth: %s\n", s.message().c_str());
    return 1;
  }

  h2o_config_init(&g_config);
  h2o_hostconf_t* host =
      h2o_config_register_host(&g_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* path = h2o_config_register_path(host, "/", 0);
  h2o_handler_t* handler = h2o_create_handler(path, sizeof(h2o_handler_t));
  handler->on_req = OnAuth;
  h2o_context_init(&g_ctx, h2o_evloop_create(), &g_config);
  g_accept_ctx.ctx = &g_ctx;
  g_accept_ctx.hosts = g_config.hosts;

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    std::perror("h2o_auth: listen");
    return 1;
  }
  h2o_socket_t* listener = h2o_evloop_socket_create(g_ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  h2o_socket_read_start(listener, OnAccept);
  while (h2o_evloop_run(g_ctx.loop, INT32_MAX) == 0) {
  }
  return 0;
}
