#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace keyward {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Result<HttpClient> HttpClient::Create(const std::string& base_url, std::string bearer_token) {
  std::string_view rest = base_url;
  if (rest.starts_with("https://")) {
    return Status::InvalidRequest(
        "KEYWARD_URL: https is not supported by the command line; "
        "use http:// to a keyward on this host or network");
  }
  if (!rest.starts_with("http://")) {
    return Status::InvalidRequest("KEYWARD_URL must look like http://127.0.0.1:8080, not \"" +
                                  base_url + "\"");
  }
  rest.remove_prefix(7);
  while (rest.ends_with("/")) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos || rest.empty()) {
    return Status::InvalidRequest(
        "KEYWARD_URL must be just scheme, host and port: http://127.0.0.1:8080");
  }
  std::string host, port = "80";
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidRequest("KEYWARD_URL has a bad IPv6 host");
    host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':')
      port = std::string(rest.substr(close + 2));
  } else {
    const size_t colon = rest.rfind(':');
    host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(rest.substr(colon + 1));
  }
  return HttpClient(std::move(host), std::move(port), std::move(bearer_token));
}

Result<HttpResult> HttpClient::Send(const std::string& method, const std::string& target,
                                    const std::string& json_body) {
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(resolver.resolve(host_, port_));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "keyward-cli");
    req.set(http::field::accept, "application/json");
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!json_body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = json_body;
    }
    req.keep_alive(false);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser);
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return HttpResult{static_cast<int>(parser.get().result_int()), parser.get().body()};
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach keyward at http://" + host_ + ":" + port_ + ": " +
                               e.what());
  }
}

}  // namespace keyward
