// The body of a streamed answer (Call::Stream) as it goes on the wire: the
// producer's pieces, gathered up to kWriteBytes per write so that small
// pieces do not cost a write(2) each, framed as HTTP/1.1 chunks, or passed
// as they are to an HTTP/1.0 client (whose body ends when the connection
// closes). HttpSession writes what Next gives and asks again only once it
// is written: that is the backpressure.
// Not thread-safe: one per streamed answer, on its connection's strand.
#ifndef KEYWARD_SERVER_BODY_STREAM_H_
#define KEYWARD_SERVER_BODY_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "server/call.h"

namespace keyward {

class BodyStream {
 public:
  // A write carries at least this much body, unless the body ends first.
  static constexpr size_t kWriteBytes = 64 * 1024;
  // Producer calls per Next, at most: a producer that keeps giving nothing
  // must not hold the serving thread.
  static constexpr int kCallsPerNext = 64;

  BodyStream(BodyProducer producer, bool chunked)
      : producer_(std::move(producer)), chunked_(chunked) {}

  // Appends the next bytes for the wire to *out and sets *finished when
  // they end the body (the last chunk included). Appends nothing, and does
  // not finish, when the producer gave nothing in kCallsPerNext calls: ask
  // again later. An error is the producer's, or what it threw: the body
  // cannot be completed.
  Status Next(std::string* out, bool* finished);

  // Body bytes produced so far, without the chunks' framing.
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  BodyProducer producer_;
  const bool chunked_;
  bool done_ = false;
  std::string piece_;  // reused: its capacity stays for the next write
  uint64_t body_bytes_ = 0;
};

}  // namespace keyward

#endif  // KEYWARD_SERVER_BODY_STREAM_H_
