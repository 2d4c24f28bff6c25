// HTTP requests as the server reads them: the bytes arrive on a stream in
// pieces of the size the first byte picks, are parsed with the server's
// parser and limits (ConfigureRequestParser), and every complete request,
// pipelined ones included, goes through the real Api (placeholders such as
// @ROOT@ expanded, see harness.h). Answers are checked by the harness.
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstdint>
#include <string>

#include "fuzz/harness.h"
#include "server/http_server.h"

namespace beast = boost::beast;
namespace http = keyward::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& harness = keyward::fuzz::ApiHarness::Get();
  static const keyward::HttpServerOptions options;
  const size_t piece = 1 + data[0] % 64 * (data[0] >= 128 ? 128 : 1);
  const std::string bytes =
      harness.Expand(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));

  boost::asio::io_context ioc;
  beast::test::stream stream(ioc, bytes);
  stream.read_size(piece);
  stream.close_remote();  // the client is done sending after these bytes
  beast::flat_buffer buffer;
  for (int requests = 0; requests < 64; ++requests) {
    keyward::RequestParser parser;
    keyward::ConfigureRequestParser(parser, options);
    // The server's steps (HttpSession::Parse, OnRead, OnHeader): feed what
    // is buffered, read when more is needed, judge the header once whole.
    beast::error_code ec;
    bool header_done = false;
    bool refused = false;
    for (;;) {
      const keyward::ParseStep step = keyward::FeedRequestParser(parser, buffer, header_done, &ec);
      if (step == keyward::ParseStep::kRequest || step == keyward::ParseStep::kError) break;
      if (step == keyward::ParseStep::kHeader) {
        header_done = true;
        // 400 or 413, and the connection closes.
        refused =
            keyward::AcceptRequestHeader(parser, options) != keyward::HeaderVerdict::kAccepted;
        if (refused) break;
        continue;
      }
      const size_t n = stream.read_some(buffer.prepare(8192), ec);
      buffer.commit(n);
      if (ec == boost::asio::error::eof) ec = keyward::RequestEndedEarly(parser);
      if (ec) break;
    }
    if (refused) break;
    if (ec && std::getenv("KEYWARD_FUZZ_VERBOSE"))
      std::fprintf(stderr, "  read: %s\n", ec.message().c_str());
    if (ec) break;  // the server answers 400/413/431 or closes; nothing reaches the Api
    FUZZ_CHECK(parser.is_done(), "a request handed on before it was whole");
    const keyward::ApiReply reply = harness.Handle(parser.get());
    harness.RefreshVictim();
    std::string wire;
    reply.response.SerializeTo(&wire);
    FUZZ_CHECK(wire.find("\r\n\r\n") != std::string::npos, "no end of headers");
    if (!reply.response.keep_alive) break;
    // HTTP/1.0 with Transfer-Encoding: answered, then closed (RFC 9112 6.1).
    if (parser.get().version() < 11 && parser.get().count(http::field::transfer_encoding) > 0)
      break;
  }
  return 0;
}
