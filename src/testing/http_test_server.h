// A real HttpServer for tests of the HTTP layer and of HTTP clients: an Api
// over the routes a test registers (no store, no service), listening on a
// free loopback port and served on threads of its own until the object
// goes. Not thread-safe to build or destroy; the server is as thread-safe
// as ever (Stop from any thread).
#ifndef KEYWARD_TESTING_HTTP_TEST_SERVER_H_
#define KEYWARD_TESTING_HTTP_TEST_SERVER_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "server/api.h"
#include "server/http_server.h"

namespace keyward::testing {

class HttpTestServer {
 public:
  // options.host and options.port are set here (127.0.0.1, any free port);
  // the access log is off unless a test turns it on.
  explicit HttpTestServer(RouteTable routes, HttpServerOptions options = Quiet())
      : api_(ApiOptions{}, std::move(routes)) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(std::move(options), &api_);
    if (Status st = server_->Listen(); !st.ok()) {
      std::fprintf(stderr, "cannot listen: %s\n", st.ToString().c_str());
      std::abort();
    }
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~HttpTestServer() { StopAndWait(); }

  static HttpServerOptions Quiet() {
    HttpServerOptions options;
    options.access_log = false;
    return options;
  }

  uint16_t port() const { return server_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  HttpServer& server() { return *server_; }

  // A graceful stop; returns once Run has.
  void StopAndWait() {
    if (!thread_.joinable()) return;
    server_->Stop();
    thread_.join();
  }

 private:
  Api api_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace keyward::testing

#endif  // KEYWARD_TESTING_HTTP_TEST_SERVER_H_
