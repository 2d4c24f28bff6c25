#include "server/http_server.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

http::request_header<> WithTransferEncoding(const char* value) {
  http::request_header<> h;
  h.method(http::verb::post);
  h.target("/v1/keys/verify");
  h.set(http::field::transfer_encoding, value);
  return h;
}

// Found by the hostile-client suite: "Transfer-Encoding: gzip" was read as
// a request without a body, so the bytes after it ran as a second request.
TEST(HttpServerTest, OnlyChunkedAloneFramesABody) {
  for (const char* bad : {"gzip", "chunked, gzip", "gzip, chunked", "xchunked", "identity", ""}) {
    EXPECT_FALSE(FramingError(WithTransferEncoding(bad)).empty()) << bad;
  }
  for (const char* good : {"chunked", "Chunked", " chunked "}) {
    EXPECT_TRUE(FramingError(WithTransferEncoding(good)).empty()) << good;
  }
  http::request_header<> plain;
  plain.method(http::verb::get);
  EXPECT_TRUE(FramingError(plain).empty());
}

TEST(HttpServerTest, ListenAddresses) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListenAddress("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseListenAddress("localhost", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:99999", &host, &port).ok());
}

}  // namespace
}  // namespace keyward
