// One API request as a route handler sees it: the parsed request, who is
// calling (the Principal, set by authentication), and the reply being
// built, with the helpers every route shares (query parameters, paging,
// JSON bodies, errors, streamed bodies). Also the header helpers of the HTTP
// layer.
// Not thread-safe: one per request, on the thread serving it.
#ifndef KEYWARD_SERVER_CALL_H_
#define KEYWARD_SERVER_CALL_H_

#include <boost/beast/http.hpp>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "server/json_codec.h"

namespace keyward {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;

struct ApiReply;

// Who is calling, once authentication has run.
struct Principal {
  bool root = false;
  std::string actor;         // "rk_…", "key_…", "member:…" or "portal:ps_…"
  std::string workspace_id;  // self-service and portal: its own
  std::string environment;   // self-service and portal: its own; portal: empty for all
  std::vector<std::string> scopes;
  std::optional<ApiKey> key;  // self-service: the managing key, as stored
  // A browser session: "portal" or "console"; empty for a key.
  std::string session;
  std::optional<PortalSession> portal;  // a portal session's own record
  Timestamp session_expires_at = 0;     // a browser session's end
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Produces the next piece of a streamed body into *chunk (appending). Returns
// Ok with *done set after the last piece, Ok without *done for more, or an
// error: then the connection is closed without the final chunk, so the
// client sees a broken transfer, never a silently short file.
// It runs on the serving thread, after the handler has returned (the Call
// is gone by then: capture values, not the Call), once per piece, and only
// once the previous piece is written. A piece should be quick to make and
// small (tens of KiB): the thread serves other connections too.
using BodyProducer = std::function<Status(std::string* chunk, bool* done)>;

struct Call {
  const HttpRequest& req;
  std::string_view path;
  std::string_view query;
  std::vector<std::string_view> params;
  std::string peer_ip;    // the TCP peer
  std::string client_ip;  // the client: the peer, or what a trusted proxy says
  Principal who;
  ApiReply& reply;

  void Send(int status, std::string body);
  // A page or file: content type, body, and no JSON error shape.
  void SendContent(int status, std::string_view content_type, std::string body);
  void SendJson(int status, const Json& j) { Send(status, Dump(j)); }
  // Answers status with content_type and a body sent with
  // Transfer-Encoding: chunked (to HTTP/1.0 clients: unchunked, then the
  // connection closes), produced piece by piece on the serving thread while
  // the client reads. Each piece's write is bounded by the server's
  // request_timeout, not the whole body: a long download that progresses is
  // never cut. Headers set on the reply are sent as for any answer; a HEAD
  // request gets them alone and next is never called. An Error after Stream
  // answers the error instead.
  void Stream(int status, std::string_view content_type, BodyProducer next);
  void Error(Code code, std::string_view message);
  // An error Status as an answer; internals never reach the client.
  void Fail(const Status& st);
  bool Check(const Status& st);
  Actor actor() const { return Actor{who.actor, client_ip, who.key ? &*who.key : nullptr}; }

  // Query parameters, refusing any not in allowed.
  bool Query(std::initializer_list<std::string_view> allowed, QueryParams* out);
  // A page request from cursor= and limit=.
  bool Page(const QueryParams& q, PageRequest* page);
  // The body as a JSON object, checking its content type.
  std::optional<Json> Body(bool allow_empty);
};

std::string_view Trim(std::string_view s);
bool IEquals(std::string_view a, std::string_view b);
// The value of a header, or "" when absent.
std::string_view Header(const HttpRequest& req, std::string_view name);
// The token of "Authorization: Bearer <token>", or "" when there is none.
std::string_view BearerToken(const HttpRequest& req);
// {"data": [...], "next_cursor": "…" | null}
Json ListBody(Json data, const std::string& next_cursor);
// "a, b c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(std::string_view s);

}  // namespace keyward

#endif  // KEYWARD_SERVER_CALL_H_
