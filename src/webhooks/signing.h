// Standard Webhooks signatures (https://www.standardwebhooks.com): the
// secret "whsec_" + base64 of random bytes, the key being those bytes, and
// webhook-signature "v1," + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))
// for each secret in use, separated by spaces, so that a receiver holding
// either secret of a roll verifies it. Thread-safe: pure functions.
#ifndef KEYWARD_WEBHOOKS_SIGNING_H_
#define KEYWARD_WEBHOOKS_SIGNING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

inline constexpr std::string_view kWebhookSecretPrefix = "whsec_";

// A new signing secret: "whsec_" + base64 of 32 bytes from the OS CSPRNG.
std::string NewWebhookSecret();

// The value of webhook-signature for a message signed with each secret;
// empty when a secret is not "whsec_" + base64.
std::string SignWebhook(const std::vector<std::string>& secrets, std::string_view msg_id,
                        int64_t timestamp_seconds, std::string_view body);

// Base64 (RFC 4648, padded) and its inverse; nullopt for text that is not.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace keyward

#endif  // KEYWARD_WEBHOOKS_SIGNING_H_
