// A small blocking HTTP/1.1 client for the keyward command line: one request
// per connection, plain http only (the CLI talks to keyward on the same host
// or network). Answers come whole (Send) or, for exports too large to hold,
// piece by piece as they arrive (SendStreamed). Not thread-safe; one per
// command.
#ifndef KEYWARD_CLI_HTTP_CLIENT_H_
#define KEYWARD_CLI_HTTP_CLIENT_H_

#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace keyward {

struct HttpResult {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  // base_url: "http://127.0.0.1:8080" (a trailing slash or path is refused).
  static Result<HttpClient> Create(const std::string& base_url, std::string bearer_token);
  // Create with a root key, saying how to set one when there is none.
  static Result<HttpClient> ForRootKey(const std::string& base_url, std::string root_key);

  // kUnavailable when the server cannot be reached.
  Result<HttpResult> Send(const std::string& method, const std::string& target,
                          const std::string& json_body = "");

  static constexpr size_t kPieceBytes = 64 * 1024;
  // Sends a request whose answer may be too large to hold: a 2xx body goes
  // to on_piece as it arrives, at most kPieceBytes at a time, and is never
  // held whole (the result's body stays empty); another answer's body (an
  // error) comes back whole in the result, its first MiB at most. Each wait
  // for more of the answer is bounded, not the whole transfer. Errors:
  // kUnavailable when the server cannot be reached, or when the transfer
  // broke off (a connection closed or reset before the body's end, or a
  // silence of 30 s): what on_piece got is then incomplete; on_piece's own
  // error, which ends the transfer.
  Result<HttpResult> SendStreamed(const std::string& method, const std::string& target,
                                  const std::string& accept,
                                  const std::function<Status(std::string_view piece)>& on_piece);

 private:
  HttpClient(std::string host, std::string port, std::string token)
      : host_(std::move(host)), port_(std::move(port)), token_(std::move(token)) {}
  std::string Where() const { return "keyward at http://" + host_ + ":" + port_; }
  std::string host_, port_, token_;
};

// "code: message (HTTP 404)" from an error answer in keyward's shape
// ({"error": …, "message": …}), or "http_<status>: <body>" for another.
std::string HttpErrorText(const HttpResult& result);

// s percent-encoded for a URL's path segment or query value.
std::string UrlEncode(std::string_view s);

}  // namespace keyward

#endif  // KEYWARD_CLI_HTTP_CLIENT_H_
