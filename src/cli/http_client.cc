#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

namespace keyward {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// How long the client waits for a connection, for an answer, and (when an
// answer streams) for each piece of it.
constexpr std::chrono::seconds kTimeout{30};
// An error answer is a few hundred bytes; anything past this is not read.
constexpr size_t kErrorBodyLimit = 1024 * 1024;

static http::request<http::string_body> MakeRequest(const std::string& method,
                                                    const std::string& target,
                                                    const std::string& host,
                                                    const std::string& token,
                                                    const std::string& accept) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "keyward-cli");
  req.set(http::field::accept, accept);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.keep_alive(false);
  return req;
}

Result<HttpClient> HttpClient::ForRootKey(const std::string& base_url, std::string root_key) {
  if (root_key.empty()) {
    return Status::InvalidRequest("set KEYWARD_ROOT_KEY to a root key (kw_root_…) first");
  }
  return Create(base_url, std::move(root_key));
}

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
    stream.expires_after(kTimeout);
    stream.connect(resolver.resolve(host_, port_));
    auto req = MakeRequest(method, target, host_, token_, "application/json");
    if (!json_body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = json_body;
    }
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
    return Status::Unavailable("cannot reach " + Where() + ": " + e.what());
  }
}

Result<HttpResult> HttpClient::SendStreamed(
    const std::string& method, const std::string& target, const std::string& accept,
    const std::function<Status(std::string_view piece)>& on_piece) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  try {
    asio::ip::tcp::resolver resolver(ioc);
    stream.expires_after(kTimeout);
    stream.connect(resolver.resolve(host_, port_));
    auto req = MakeRequest(method, target, host_, token_, accept);
    req.prepare_payload();
    http::write(stream, req);
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach " + Where() + ": " + e.what());
  }
  beast::flat_buffer buffer;
  // buffer_body: the parser fills the piece buffer it is given and stops,
  // so no more than a piece is held, whatever the body's size.
  http::response_parser<http::buffer_body> parser;
  // No limit, but not as boost::none: Boost 1.74 compares a Content-Length
  // with an empty limit as larger and refuses every such body.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code ec;
  stream.expires_after(kTimeout);
  http::read_header(stream, buffer, parser, ec);
  if (ec) return Status::Unavailable("no answer from " + Where() + ": " + ec.message());
  HttpResult result;
  result.status = static_cast<int>(parser.get().result_int());
  const bool success = result.status >= 200 && result.status < 300;
  std::vector<char> piece(kPieceBytes);
  uint64_t received = 0;
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    // Each piece has its own deadline: a long export that keeps coming is
    // never cut, a silent one is.
    stream.expires_after(kTimeout);
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    const size_t n = piece.size() - parser.get().body().size;
    received += n;
    if (success && n > 0) {
      if (Status st = on_piece(std::string_view(piece.data(), n)); !st.ok()) return st;
    } else if (!success) {
      result.body.append(piece.data(), n);
      if (result.body.size() >= kErrorBodyLimit) break;
    }
    if (ec) {
      // Without the body's end (chunked: the last chunk), what came is a
      // part only, however much it is.
      return Status::Unavailable("the answer from " + Where() + " broke off after " +
                                 std::to_string(received) + " bytes of its body (" + ec.message() +
                                 ")");
    }
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return result;
}

static std::string Field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string HttpErrorText(const HttpResult& result) {
  const nlohmann::json j = nlohmann::json::parse(result.body, nullptr, false);
  const std::string code =
      j.is_object() ? Field(j, "error") : "http_" + std::to_string(result.status);
  const std::string message = j.is_object() ? Field(j, "message") : result.body;
  return code + ": " + message + " (HTTP " + std::to_string(result.status) + ")";
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace keyward
