#include "webhooks/sender.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>

namespace keyward {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::vector<tcp::endpoint> Endpoints(const WebhookRequest& r) {
  std::vector<tcp::endpoint> out;
  const auto port = static_cast<uint16_t>(std::stoi(r.url.port));
  for (const IpAddress& ip : r.addresses) {
    asio::ip::address_v6::bytes_type b;
    std::copy(ip.bytes.begin(), ip.bytes.end(), b.begin());
    asio::ip::address_v6 v6(b);
    if (v6.is_v4_mapped()) {
      out.emplace_back(asio::ip::make_address_v4(asio::ip::v4_mapped, v6), port);
    } else {
      out.emplace_back(v6, port);
    }
  }
  return out;
}

http::request<http::string_body> MakeRequest(const WebhookRequest& r, const std::string& agent) {
  http::request<http::string_body> req{http::verb::post, r.url.target, 11};
  const bool default_port = r.url.port == (r.url.tls ? "443" : "80");
  std::string host =
      r.url.host.find(':') != std::string::npos ? "[" + r.url.host + "]" : r.url.host;
  if (!default_port) host += ":" + r.url.port;
  req.set(http::field::host, host);
  req.set(http::field::user_agent, agent);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : r.headers) req.set(name, value);
  req.body() = r.body;
  req.prepare_payload();
  return req;
}

// Reads the answer's status and Retry-After into out.
template <typename Parser>
void TakeAnswer(const Parser& parser, WebhookResponse* out) {
  const auto& res = parser.get();
  out->status = static_cast<int>(res.result_int());
  auto it = res.find(http::field::retry_after);
  if (it != res.end()) {
    out->retry_after_seconds =
        ParseRetryAfter(std::string_view(it->value().data(), it->value().size()),
                        static_cast<int64_t>(std::time(nullptr)));
  }
}

// One attempt on its own I/O context: connect, (handshake,) write, read
// the head, each step started by the one before. Whatever has not finished
// when the context's time runs out is a timeout.
template <typename Stream>
class Exchange {
 public:
  Exchange(Stream& stream, const http::request<http::string_body>& req, WebhookResponse* out)
      : stream_(stream), req_(req), out_(out) {
    parser_.skip(true);  // the status line and headers are all we read
  }
  void Write() {
    stage_ = "send";
    http::async_write(stream_, req_, [this](beast::error_code ec, size_t) {
      if (Failed(ec)) return;
      stage_ = "read";
      http::async_read_header(stream_, buffer_, parser_, [this](beast::error_code ec2, size_t) {
        if (Failed(ec2)) return;
        TakeAnswer(parser_, out_);
      });
    });
  }
  bool Failed(beast::error_code ec) {
    if (!ec) return false;
    out_->error = std::string(stage_) + ": " + ec.message();
    return true;
  }
  const char* stage_ = "connect";

 private:
  Stream& stream_;
  const http::request<http::string_body>& req_;
  WebhookResponse* out_;
  http::response_parser<http::empty_body> parser_;
  beast::flat_buffer buffer_;
};

class HttpWebhookSender final : public WebhookSender {
 public:
  HttpWebhookSender(HttpWebhookSenderOptions options, ssl::context tls)
      : options_(std::move(options)), tls_(std::move(tls)) {}

  WebhookResponse Send(const WebhookRequest& r) override {
    WebhookResponse out;
    const auto start = std::chrono::steady_clock::now();
    const std::vector<tcp::endpoint> endpoints = Endpoints(r);
    const auto req = MakeRequest(r, options_.user_agent);
    asio::io_context io;
    if (r.url.tls) {
      beast::ssl_stream<beast::tcp_stream> stream(io, tls_);
      Exchange<beast::ssl_stream<beast::tcp_stream>> x(stream, req, &out);
      if (!r.url.host_is_ip &&
          !SSL_set_tlsext_host_name(stream.native_handle(), r.url.host.c_str())) {
        out.error = "tls: cannot set the server name";
        return out;
      }
      stream.set_verify_callback(ssl::host_name_verification(r.url.host));
      beast::get_lowest_layer(stream).async_connect(
          endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
            if (x.Failed(ec)) return;
            x.stage_ = "tls";
            stream.async_handshake(ssl::stream_base::client, [&](beast::error_code ec2) {
              if (!x.Failed(ec2)) x.Write();
            });
          });
      Run(io, start, &out);
    } else {
      beast::tcp_stream stream(io);
      Exchange<beast::tcp_stream> x(stream, req, &out);
      stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
        if (!x.Failed(ec)) x.Write();
      });
      Run(io, start, &out);
    }
    return out;
  }

 private:
  // Runs the attempt until it ends or its time is up.
  void Run(asio::io_context& io, std::chrono::steady_clock::time_point start,
           WebhookResponse* out) {
    io.run_until(start + options_.timeout);
    out->latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
    if (!out->status && out->error.empty()) out->error = "timeout";
    if (out->status) out->error.clear();  // an answer came; what followed does not matter
  }

  const HttpWebhookSenderOptions options_;
  ssl::context tls_;
};

}  // namespace

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_seconds) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return 999'999'999;
    return std::stoll(std::string(value));
  }
  // An HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const int64_t at = static_cast<int64_t>(timegm(&tm));
  return at > now_seconds ? at - now_seconds : 0;
}

Result<std::unique_ptr<WebhookSender>> MakeHttpWebhookSender(HttpWebhookSenderOptions options) {
  ssl::context tls(ssl::context::tls_client);
  tls.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    tls.set_default_verify_paths(ec);
  } else {
    tls.load_verify_file(options.ca_file, ec);
  }
  if (ec) {
    return Status::InvalidRequest(
        "webhooks: cannot load certificate authorities" +
        (options.ca_file.empty() ? std::string() : " from " + options.ca_file) + ": " +
        ec.message());
  }
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  return std::unique_ptr<WebhookSender>(new HttpWebhookSender(std::move(options), std::move(tls)));
}

}  // namespace keyward
