#include "server/body_stream.h"

#include <exception>

namespace keyward {

Status BodyStream::Next(std::string* out, bool* finished) {
  *finished = false;
  piece_.clear();
  for (int calls = 0; !done_ && piece_.size() < kWriteBytes && calls < kCallsPerNext; ++calls) {
    bool done = false;
    Status st;
    // A throwing producer is a bug in a route; it breaks the transfer, as
    // an error would, instead of the server.
    try {
      st = producer_(&piece_, &done);
    } catch (const std::exception& e) {
      st = Status::Internal(std::string("the body's producer threw: ") + e.what());
    } catch (...) {
      st = Status::Internal("the body's producer threw");
    }
    if (!st.ok()) return st;
    done_ = done;
  }
  body_bytes_ += piece_.size();
  if (!chunked_) {
    out->append(piece_);
  } else {
    // An empty chunk would end the body: only pieces with bytes are sent.
    if (!piece_.empty()) {
      char hex[2 * sizeof(size_t) + 1];
      size_t n = piece_.size(), i = sizeof(hex);
      do {
        hex[--i] = "0123456789abcdef"[n & 15];
        n >>= 4;
      } while (n != 0);
      out->append(hex + i, sizeof(hex) - i);
      out->append("\r\n");
      out->append(piece_);
      out->append("\r\n");
    }
    if (done_) out->append("0\r\n\r\n");
  }
  *finished = done_;
  return Status::Ok();
}

}  // namespace keyward
