// Sends one webhook over HTTP or HTTPS: a POST of the body to the addresses
// the target guard checked (never to the name resolved again), TLS with the
// system's certificate authorities (or the configured file) and the host
// name verified, the whole attempt bounded by a timeout. Only the status
// line and headers of the answer are read; its body is not wanted.
// Thread-safe: Send may run on many threads at once; each call has its own
// I/O context and connection.
#ifndef KEYWARD_WEBHOOKS_SENDER_H_
#define KEYWARD_WEBHOOKS_SENDER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cidr.h"
#include "webhooks/target_guard.h"

namespace keyward {

struct WebhookRequest {
  WebhookUrl url;
  std::vector<IpAddress> addresses;  // tried in order until one connects
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct WebhookResponse {
  std::optional<int> status;  // unset when no answer came
  // Retry-After of the answer, in seconds (a number or an HTTP date).
  std::optional<int64_t> retry_after_seconds;
  std::string error;  // why no answer came: "timeout", "connect: …", "tls: …"
  int64_t latency_ms = 0;
};

class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  virtual WebhookResponse Send(const WebhookRequest& request) = 0;
};

struct HttpWebhookSenderOptions {
  std::chrono::milliseconds timeout{15'000};
  // PEM file of certificate authorities to trust instead of the system's
  // (a private CA); empty: the system's.
  std::string ca_file;
  std::string user_agent = "keyward-webhooks/1";
};

// The sender keyward uses. Create fails when ca_file cannot be loaded.
Result<std::unique_ptr<WebhookSender>> MakeHttpWebhookSender(HttpWebhookSenderOptions options);

// Retry-After as seconds from now: a number of seconds, or an HTTP date
// (then now_seconds is the current Unix time). nullopt when it is neither.
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_seconds);

}  // namespace keyward

#endif  // KEYWARD_WEBHOOKS_SENDER_H_
