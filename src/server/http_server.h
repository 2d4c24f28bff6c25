// HttpServer: HTTP/1.1 on Boost.Beast/Asio. Keep-alive and pipelining,
// streamed answers (Call::Stream: chunked, with backpressure), a fixed
// number of serving threads, limits on header and body size, timeouts
// against slow clients, and a graceful stop: stop accepting, finish what is
// in flight (streams included), close idle connections, return from Run.
// Each connection runs on its own strand; Api::Handle runs on the serving
// threads. Thread-safe: Stop may be called from any thread.
#ifndef KEYWARD_SERVER_HTTP_SERVER_H_
#define KEYWARD_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "server/api.h"

namespace keyward {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port
  int threads = 2;
  size_t header_limit = 16 * 1024;
  size_t body_limit = 64 * 1024;
  // POSTs with a credential to these paths may carry up to
  // bulk_body_limit: a batch of 1000 keys to import is more than 64 KiB.
  std::vector<std::string> bulk_paths = {"/v1/api-keys/import"};
  size_t bulk_body_limit = 8 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{75'000};  // waiting for a request's first byte
  // The whole request and its answer, once begun; for a streamed answer,
  // the request and then each piece's write (a client that stops reading
  // for this long is dropped, one that keeps reading is not).
  std::chrono::milliseconds request_timeout{15'000};
  std::chrono::milliseconds stop_timeout{10'000};  // in-flight work at a stop
  bool access_log = true;
};

// The parser a request is read with, limits set as the server sets them
// (the fuzzer parses with the same).
using RequestParser = http::request_parser<http::string_body>;
void ConfigureRequestParser(RequestParser& parser, const HttpServerOptions& options);

// One step of reading a request from the connection's buffer, as the
// server takes it (the fuzzer reads with the same): FeedRequestParser gives
// the parser what the buffer holds and consumes what it used. kHeader comes
// once, when the header is complete (header_done is then the caller's to
// set, and a body is parsed as it arrives: the parser is eager from then
// on); kRequest when the whole request is; kNeedMore when the socket must
// be read; kError with *ec set. RequestEndedEarly is the error for a
// connection whose client ended its side before the request was whole.
enum class ParseStep { kNeedMore, kHeader, kRequest, kError };
ParseStep FeedRequestParser(RequestParser& parser, boost::beast::flat_buffer& buffer,
                            bool header_done, boost::beast::error_code* ec);
boost::beast::error_code RequestEndedEarly(RequestParser& parser);

// The largest body this request may carry: bulk_body_limit for a POST with
// an Authorization header to one of bulk_paths, body_limit otherwise.
size_t BodyLimitFor(const http::request_header<>& header, const HttpServerOptions& options);

// Why a request's framing cannot be trusted (RFC 9112 6.1), or empty: a
// Transfer-Encoding other than "chunked" alone leaves the body's length
// unknown, and what follows could be read as a smuggled request.
std::string_view FramingError(const http::request_header<>& header);

// What the server makes of a request's header once it is whole (the fuzzer
// asks the same): framing it cannot trust (FramingError: 400), or a
// Content-Length over this request's own limit (BodyLimitFor: 413), is
// refused; otherwise the parser's body limit becomes the request's own.
enum class HeaderVerdict { kAccepted, kBadFraming, kTooLarge };
HeaderVerdict AcceptRequestHeader(RequestParser& parser, const HttpServerOptions& options);

// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0"; InvalidRequest otherwise.
Status ParseListenAddress(std::string_view text, std::string* host, uint16_t* port);

class HttpSession;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Api* api);
  ~HttpServer();

  // Binds and listens; afterwards port() is the real port.
  Status Listen();
  uint16_t port() const { return port_; }

  // Serves on options.threads threads (this one among them) until a stop
  // has drained every connection. SIGINT and SIGTERM start a stop.
  void Run();

  // Starts a graceful stop. Thread-safe, idempotent.
  void Stop();

  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  const HttpServerOptions& options() const { return options_; }
  Api& api() { return *api_; }

 private:
  friend class HttpSession;
  void Accept();
  void MaybeFinish();
  void Register(HttpSession* s);
  void Unregister(HttpSession* s);

  HttpServerOptions options_;
  Api* api_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  // Declared before loops_: sessions destroyed with the io_context's pending
  // handlers still unregister themselves.
  Mutex sessions_mu_;
  std::unordered_set<HttpSession*> sessions_ GUARDED_BY(sessions_mu_);
  // One event loop per serving thread, as nginx runs one per worker: a
  // connection lives on one loop, so serving threads share no scheduler
  // queue, lock or reactor state per request. loops_[0] runs on the thread
  // that calls Run.
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  // Keeps each loop running while it has no connection, until the stop.
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  size_t next_loop_ = 0;  // the loop the next connection goes to; on control_
  // The accept loop, the stop deadline, the signal wait and the stop itself
  // run here (on loops_[0]), one at a time.
  boost::asio::strand<boost::asio::io_context::executor_type> control_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer stop_deadline_;
  std::optional<boost::asio::signal_set> signals_;
};

}  // namespace keyward

#endif  // KEYWARD_SERVER_HTTP_SERVER_H_
