// A small blocking HTTP/1.1 client for the keyward command line: one request
// per connection, plain http only (the CLI talks to keyward on the same host
// or network). Not thread-safe; one per command.
#ifndef KEYWARD_CLI_HTTP_CLIENT_H_
#define KEYWARD_CLI_HTTP_CLIENT_H_

#include <string>

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

  // kUnavailable when the server cannot be reached.
  Result<HttpResult> Send(const std::string& method, const std::string& target,
                          const std::string& json_body = "");

 private:
  HttpClient(std::string host, std::string port, std::string token)
      : host_(std::move(host)), port_(std::move(port)), token_(std::move(token)) {}
  std::string host_, port_, token_;
};

}  // namespace keyward

#endif  // KEYWARD_CLI_HTTP_CLIENT_H_
