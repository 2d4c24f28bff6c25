#include "server/http_server.h"

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "server/body_stream.h"
#include "server/log.h"

namespace keyward {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

void ConfigureRequestParser(RequestParser& parser, const HttpServerOptions& options) {
  parser.header_limit(static_cast<uint32_t>(options.header_limit));
  // The bulk paths' limit until the target is known (HttpSession::OnHeader
  // narrows it for every other path).
  parser.body_limit(options.bulk_paths.empty()
                        ? options.body_limit
                        : std::max(options.body_limit, options.bulk_body_limit));
}

ParseStep FeedRequestParser(RequestParser& parser, beast::flat_buffer& buffer, bool header_done,
                            beast::error_code* ec) {
  if (header_done) {
    parser.eager(true);  // as http::async_read reads a body
    if (parser.is_done()) return ParseStep::kRequest;
  }
  while (buffer.size() > 0) {
    const size_t used = parser.put(buffer.data(), *ec);
    buffer.consume(used);
    if (*ec == http::error::need_more) {
      *ec = {};
      break;
    }
    if (*ec) return ParseStep::kError;
    if (!header_done && parser.is_header_done()) return ParseStep::kHeader;
    if (parser.is_done()) return ParseStep::kRequest;
    if (used == 0) break;
  }
  return ParseStep::kNeedMore;
}

beast::error_code RequestEndedEarly(RequestParser& parser) {
  if (!parser.got_some()) return http::error::end_of_stream;
  beast::error_code ec;
  parser.put_eof(ec);  // a request has no body that ends with the connection
  return ec ? ec : beast::error_code(http::error::partial_message);
}

size_t BodyLimitFor(const http::request_header<>& header, const HttpServerOptions& options) {
  // Only a POST with a credential to a bulk path: no one holds the server
  // to 8 MiB per connection without at least claiming to be a root key.
  if (header.method() != http::verb::post || header.count(http::field::authorization) == 0) {
    return options.body_limit;
  }
  const std::string_view target(header.target().data(), header.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const auto& bulk = options.bulk_paths;
  return std::find(bulk.begin(), bulk.end(), path) != bulk.end() ? options.bulk_body_limit
                                                                 : options.body_limit;
}

std::string_view FramingError(const http::request_header<>& header) {
  const auto te = header.find(http::field::transfer_encoding);
  if (te == header.end()) return {};
  std::string_view value(te->value().data(), te->value().size());
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (!beast::iequals(value, "chunked")) {
    return "Transfer-Encoding must be \"chunked\" and nothing else";
  }
  return {};
}

HeaderVerdict AcceptRequestHeader(RequestParser& parser, const HttpServerOptions& options) {
  const auto& header = parser.get().base();
  if (!FramingError(header).empty()) return HeaderVerdict::kBadFraming;
  // The parser read the header allowing the larger of the two limits
  // (Beast checks a Content-Length as the header ends); this request's is
  // known only now.
  const size_t limit = BodyLimitFor(header, options);
  if (const auto length = parser.content_length(); length && *length > limit) {
    return HeaderVerdict::kTooLarge;
  }
  parser.body_limit(limit);
  return HeaderVerdict::kAccepted;
}

Status ParseListenAddress(std::string_view text, std::string* host, uint16_t* port) {
  std::string_view h, p;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidRequest("listen address \"" + std::string(text) +
                                    "\" must look like [::1]:8080");
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidRequest("listen address \"" + std::string(text) +
                                    "\" must be host:port");
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || value > 65535) {
    return Status::InvalidRequest("listen address \"" + std::string(text) + "\" has a bad port");
  }
  boost::system::error_code bec;
  asio::ip::make_address(std::string(h), bec);
  if (h.empty() || bec) {
    return Status::InvalidRequest("listen address \"" + std::string(text) +
                                  "\" needs an IP address as host");
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

// One connection. Lives as long as an operation on it is pending.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, HttpServer& server)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server) {
    boost::system::error_code ec;
    const auto ep = socket_.remote_endpoint(ec);
    if (!ec) {
      const auto addr = ep.address();
      peer_ip_ = addr.is_v6() && addr.to_v6().is_v4_mapped()
                     ? asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string()
                     : addr.to_string();
    }
    socket_.set_option(tcp::no_delay(true), ec);
    // The shortest timeout decides how often an armed deadline is looked at.
    const auto shortest =
        std::min(server_.options().idle_timeout, server_.options().request_timeout);
    tick_ = std::clamp<std::chrono::steady_clock::duration>(
        shortest / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
    server_.Register(this);
  }
  ~HttpSession() { server_.Unregister(this); }

  void Start() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
  }

  // Called on the connection's loop when the server begins to stop.
  void OnServerStop() {
    if (idle_) Close();
  }

  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  // Timeouts. Each phase of a connection (waiting for a request, reading
  // and answering it, a piece of a stream, a last drain) gives the
  // connection until a deadline; past it the socket is closed, which ends
  // whatever operation is pending, as Beast's tcp_stream does. Moving the
  // deadline is a store: one timer per connection wakes every tick_ (a
  // quarter of the shortest timeout, 10 ms to 1 s) to compare, instead of a
  // timer armed, cancelled and completed around every read and write,
  // which showed in the profile of every request. A deadline is therefore
  // enforced up to one tick late. All of it runs on the connection's loop (one thread).
  void ExpiresAfter(std::chrono::steady_clock::duration d) {
    deadline_ = std::chrono::steady_clock::now() + d;
    if (!timer_armed_) ArmTimer();
  }
  // No deadline: nothing is pending that the client could be slow at.
  void NoDeadline() { deadline_ = std::chrono::steady_clock::time_point::max(); }

  void ArmTimer() {
    if (closed_) return;
    timer_armed_ = true;
    timer_.expires_after(tick_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) { self->OnTick(ec); });
  }

  void OnTick(beast::error_code ec) {
    timer_armed_ = false;
    if (ec || closed_) return;  // cancelled by Close: the session may go
    if (std::chrono::steady_clock::now() >= deadline_) {
      timed_out_ = true;
      return Close();  // the pending operation ends with an error
    }
    ArmTimer();
  }

  // Reading. The request is parsed by Beast's parser straight from the
  // connection's buffer, and the socket is read only when the parser needs
  // more: the same steps as http::async_read_header and http::async_read,
  // without their composed operations, which cost a posted completion per
  // request even when the whole request came in one read (the usual case).
  void WaitForRequest() {
    if (server_.stopping()) return Close();
    parser_.emplace();
    ConfigureRequestParser(*parser_, server_.options());
    body_limit_ = server_.options().body_limit;
    header_done_ = false;
    if (buffer_.size() > 0) return BeginRequest();  // a pipelined request is already here
    idle_ = true;
    ExpiresAfter(server_.options().idle_timeout);
    ReadMore();
  }

  // The first byte of a request is here: from now on it has request_timeout.
  void BeginRequest() {
    idle_ = false;
    ExpiresAfter(server_.options().request_timeout);
    Parse();
  }

  // Feeds the buffered bytes to the parser; the header, once complete, goes
  // to OnHeader and the whole request to OnRequest.
  void Parse() {
    beast::error_code ec;
    switch (FeedRequestParser(*parser_, buffer_, header_done_, &ec)) {
      case ParseStep::kNeedMore:
        return ReadMore();
      case ParseStep::kHeader:
        header_done_ = true;
        return OnHeader();
      case ParseStep::kRequest:
        return OnRequest();
      case ParseStep::kError:
        return OnReadError(ec);
    }
  }

  void ReadMore() {
    // As Beast reads: what the buffer has room for, at least 8 KiB (a whole
    // ordinary request) and at most 64 KiB at a time.
    const size_t room = buffer_.capacity() - buffer_.size();
    const size_t size = std::min<size_t>(std::max<size_t>(8192, room), 65536);
    socket_.async_read_some(
        buffer_.prepare(size),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(beast::error_code ec, size_t n) {
    buffer_.commit(n);
    if (idle_) {
      // Between requests, any end of the connection is a quiet one.
      if (ec) return Close();
      return BeginRequest();
    }
    // The client ended its side: a request not yet whole never will be.
    if (ec == asio::error::eof) return OnReadError(RequestEndedEarly(*parser_));
    if (ec) return OnReadError(ec);
    Parse();
  }

  void OnHeader() {
    auto& req = parser_->get();
    switch (AcceptRequestHeader(*parser_, server_.options())) {
      case HeaderVerdict::kBadFraming:
        return SendErrorAndClose(400, Code::kInvalidRequest, std::string(FramingError(req.base())));
      case HeaderVerdict::kTooLarge:
        return OnReadError(http::error::body_limit);
      case HeaderVerdict::kAccepted:
        break;
    }
    // An HTTP/1.0 request with Transfer-Encoding has faulty framing: answer
    // it, then close (RFC 9112 6.1).
    close_after_ = req.version() < 11 && req.count(http::field::transfer_encoding) > 0;
    const auto expect = req[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(socket_, asio::buffer(kContinue),
                               [self = shared_from_this()](beast::error_code wec, size_t) {
                                 if (wec) return self->Close();
                                 self->Parse();  // the body
                               });
    }
    Parse();  // the body, if any
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      // Refused as the header ended (a Content-Length over every limit):
      // the limit is the request's own all the same.
      if (parser_) body_limit_ = BodyLimitFor(parser_->get().base(), server_.options());
      return SendErrorAndClose(
          413, Code::kPayloadTooLarge,
          "the request body is over " + std::to_string(body_limit_ / 1024) + " KiB");
    }
    if (ec == http::error::header_limit) {
      return SendErrorAndClose(431, Code::kInvalidRequest,
                               "the request headers are over " +
                                   std::to_string(server_.options().header_limit / 1024) + " KiB");
    }
    if (timed_out_) {
      // The deadline closed the socket: a request that took longer than
      // request_timeout (a slowloris) or a connection idle for longer than
      // idle_timeout ends without an answer, as nginx's do.
      return Close();
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == http::error::partial_message) {
      return Close();
    }
    // Anything else is a malformed request.
    SendErrorAndClose(400, Code::kInvalidRequest, "malformed HTTP request");
  }

  void OnRequest() {
    start_ = std::chrono::steady_clock::now();
    HttpRequest& req = parser_->get();
    ApiReply reply = server_.api().Handle(req, peer_ip_);
    if (server_.stopping() || close_after_) reply.response.keep_alive = false;
    method_ = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    path_ = std::string(target.substr(0, target.find('?')));
    reply_meta_ = std::move(reply);
    // The handler's time was the server's, not the client's: the answer
    // gets request_timeout for its write, as each piece of a stream does.
    // (The deadline set as the header began could pass while a batch
    // waited for the writer, and the connection closed under an answer
    // whose change had committed, so a careful client sent it again.)
    ExpiresAfter(server_.options().request_timeout);
    // One test of an empty std::function: ordinary answers pay nothing more.
    if (reply_meta_.response.stream) return StartStream(req.method() == http::verb::head);
    WriteResponse(reply_meta_.response);
  }

  // Writes the response as one buffer with one call: cheaper than Beast's
  // serializer, whose buffer sequences dominated the profile of small answers.
  void WriteResponse(const ApiResponse& res) {
    status_ = res.status;
    keep_alive_ = res.keep_alive;
    res.SerializeTo(&out_);
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    LogRequest(ec ? "write failed" : std::string_view());
    const bool keep_alive = keep_alive_;
    if (ec) return Close();
    if (!keep_alive) return CloseGracefully();
    WaitForRequest();
  }

  // The metrics and the access log line of the request just answered, and
  // the end of a streamed body. broken: why a streamed body ended early.
  void LogRequest(std::string_view broken) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int status = status_;
    server_.api().metrics().RecordRequest(reply_meta_.route, status, seconds);
    if (server_.options().access_log) {
      LogLine line("info", "request");
      line.Str("method", method_)
          .Str("path", path_)
          .Int("status", status)
          .Num("duration_ms", seconds * 1000);
      line.Str("ip", peer_ip_);
      if (!reply_meta_.key_prefix.empty()) line.Str("key_prefix", reply_meta_.key_prefix);
      if (reply_meta_.code) line.Str("code", CodeName(*reply_meta_.code));
      if (!reply_meta_.reason.empty()) line.Str("reason", reply_meta_.reason);
      if (body_) {
        // A streamed body's size is known only now, and whether it all went.
        line.Int("bytes", static_cast<int64_t>(body_->body_bytes()));
        if (!broken.empty()) line.Str("stream", broken);
      }
      line.EmitBuffered();
    }
    if (body_) {
      // The producer (and whatever it holds open) goes now, and so does the
      // write buffer a stream grew, which an idle connection should not keep.
      body_.reset();
      std::string().swap(out_);
    }
  }

  // A streamed answer (Call::Stream): the head, then the body piece by
  // piece, each write bounded by request_timeout. The whole-request timeout
  // of a plain answer would cut a long download that is progressing; a
  // client that stops reading for request_timeout is still dropped.
  void StartStream(bool head_only) {
    ApiResponse& res = reply_meta_.response;
    // HTTP/1.0 has no chunks: the close is what ends the body.
    const bool chunked = res.version >= 11;
    if (!chunked) res.keep_alive = false;
    status_ = res.status;
    keep_alive_ = res.keep_alive;
    res.SerializeStreamHeadTo(&out_, chunked);
    body_.emplace(std::move(res.stream), chunked);
    if (head_only) {
      ExpiresAfter(server_.options().request_timeout);
      return asio::async_write(
          socket_, asio::buffer(out_),
          [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
    }
    WriteNextPiece();
  }

  // Produces the next piece (after the head still in out_, the first time)
  // and writes it; called again only once it is written.
  void WriteNextPiece() {
    bool finished = false;
    if (Status st = body_->Next(&out_, &finished); !st.ok()) {
      // Whatever went wrong is the operator's to read; the client learns
      // only that the transfer broke.
      LogLine("error", "streamed body failed")
          .Str("path", path_)
          .Str("error", st.ToString())
          .Emit();
      return BreakStream("producer failed");
    }
    if (out_.empty() && !finished) {
      // The producer gave nothing for now: let the other work on this
      // thread run before asking again. Nothing is pending meanwhile that
      // the client could be slow at.
      NoDeadline();
      return asio::post(socket_.get_executor(),
                        [self = shared_from_this()] { self->WriteNextPiece(); });
    }
    ExpiresAfter(server_.options().request_timeout);
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this(), finished](beast::error_code ec, size_t) {
          if (ec) {
            return self->BreakStream(self->timed_out_ ? "client stopped reading" : "write failed");
          }
          if (finished) return self->OnWrite(ec);
          self->out_.clear();
          self->WriteNextPiece();
        });
  }

  // Ends a streamed answer that cannot be completed. Over HTTP/1.1 the
  // missing last chunk tells the client; over HTTP/1.0 an orderly close
  // would read as the end of a complete body, so the connection is reset.
  void BreakStream(std::string_view why) {
    const bool chunked = reply_meta_.response.version >= 11;
    LogRequest(why);
    if (!chunked) {
      // No shutdown first: its FIN would reach the client before the reset.
      boost::system::error_code ec;
      socket_.set_option(asio::socket_base::linger(true, 0), ec);
      socket_.close(ec);
      StopTimer();
      return;
    }
    Close();
  }

  void SendErrorAndClose(int status, Code code, const std::string& message) {
    idle_ = false;
    start_ = std::chrono::steady_clock::now();
    method_ = "-";
    path_ = "-";
    reply_meta_ = ApiReply{};
    reply_meta_.route = server_.api().metrics().unmatched_route();
    reply_meta_.code = code;
    ExpiresAfter(std::chrono::seconds(5));
    WriteResponse(Api::ErrorResponse(status, code, message, 11, false));
  }

  // Half-closes, then drains what the client still sends for a moment, so
  // that an early answer (413) is not lost to a TCP reset.
  void CloseGracefully() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    ExpiresAfter(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    drain_buf_.resize(16384);
    socket_.async_read_some(asio::buffer(drain_buf_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > 64 * 1024 * 1024) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    idle_ = false;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    StopTimer();
  }

  // The timer holds the session alive while armed: a closed connection
  // lets it go at once.
  void StopTimer() {
    closed_ = true;
    timer_.cancel();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::duration tick_{std::chrono::seconds(1)};
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timer_armed_ = false;
  bool timed_out_ = false;  // the deadline closed the connection
  bool closed_ = false;
  HttpServer& server_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  bool header_done_ = false;  // OnHeader has seen this request's header
  bool close_after_ = false;  // answer this request, then close
  size_t body_limit_ = 0;     // this request's
  ApiReply reply_meta_;
  std::string out_;                 // the response on the wire, kept until written
  std::optional<BodyStream> body_;  // a streamed answer's body, while it is sent
  int status_ = 0;
  bool keep_alive_ = false;
  std::string peer_ip_;
  std::string method_, path_;
  std::vector<char> drain_buf_;
  size_t drained_ = 0;
  std::chrono::steady_clock::time_point start_;
  bool idle_ = false;  // waiting for the first byte of a request; on its loop
};

namespace {

std::vector<std::unique_ptr<asio::io_context>> MakeLoops(int threads) {
  std::vector<std::unique_ptr<asio::io_context>> loops;
  // Each loop is run by one thread only: the hint spares asio some locking.
  for (int i = 0; i < std::max(threads, 1); ++i)
    loops.push_back(std::make_unique<asio::io_context>(1));
  return loops;
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, Api* api)
    : options_(std::move(options)),
      api_(api),
      loops_(MakeLoops(options_.threads)),
      control_(asio::make_strand(*loops_[0])),
      acceptor_(control_),
      stop_deadline_(control_) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Listen() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return Status::InvalidRequest("bad listen address " + options_.host);
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void HttpServer::Accept() {
  // Connections go to the loops in turn; each loop is one thread, so a
  // connection needs no strand.
  asio::io_context& loop = *loops_[next_loop_++ % loops_.size()];
  acceptor_.async_accept(loop.get_executor(), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<HttpSession>(std::move(socket), *this)->Start();
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
      // Out of file descriptors: back off briefly instead of spinning.
      auto timer = std::make_shared<asio::steady_timer>(control_, std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) { Accept(); });
      return;
    }
    Accept();
  });
}

void HttpServer::Register(HttpSession* s) {
  MutexLock lock(&sessions_mu_);
  sessions_.insert(s);
}

void HttpServer::Unregister(HttpSession* s) {
  bool last;
  {
    MutexLock lock(&sessions_mu_);
    sessions_.erase(s);
    last = sessions_.empty();
  }
  if (last && stopping_.load() && !loops_[0]->stopped()) {
    asio::post(control_, [this] { MaybeFinish(); });
  }
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  api_->SetStopping();
  asio::post(control_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    std::vector<std::shared_ptr<HttpSession>> live;
    {
      MutexLock lock(&sessions_mu_);
      for (HttpSession* s : sessions_) {
        // A session whose last reference is going away cannot be revived.
        try {
          live.push_back(s->shared_from_this());
        } catch (const std::bad_weak_ptr&) {
        }
      }
    }
    for (auto& s : live) asio::post(s->executor(), [s] { s->OnServerStop(); });
    live.clear();
    stop_deadline_.expires_after(options_.stop_timeout);
    stop_deadline_.async_wait([this](beast::error_code wec) {
      if (!wec) {
        LogLine("warn", "stop deadline reached; closing connections still in flight").Emit();
        for (auto& loop : loops_) loop->stop();
      }
    });
    MaybeFinish();
  });
}

void HttpServer::MaybeFinish() {
  if (!stopping_.load()) return;
  {
    MutexLock lock(&sessions_mu_);
    if (!sessions_.empty()) return;
  }
  // Nothing left in flight: let the signal wait, the deadline and the
  // loops' work guards go, so that every loop runs out of work and Run
  // returns.
  boost::system::error_code ec;
  if (signals_) signals_->cancel(ec);
  stop_deadline_.cancel();
  for (auto& w : work_) w.reset();
}

void HttpServer::Run() {
  signals_.emplace(control_, SIGINT, SIGTERM);
  signals_->async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    LogLine("info", "stopping").Str("signal", sig == SIGINT ? "SIGINT" : "SIGTERM").Emit();
    Stop();
  });
  Accept();
  std::vector<std::thread> threads;
  for (auto& loop : loops_) work_.push_back(asio::make_work_guard(*loop));
  for (size_t i = 1; i < loops_.size(); ++i) {
    threads.emplace_back([this, i] { loops_[i]->run(); });
  }
  loops_[0]->run();
  for (auto& t : threads) t.join();
  signals_.reset();
}

}  // namespace keyward
