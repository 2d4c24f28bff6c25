#include "webhooks/signing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace keyward {

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string NewWebhookSecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string secret =
      std::string(kWebhookSecretPrefix) +
      Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  OPENSSL_cleanse(bytes, sizeof bytes);
  return secret;
}

std::string SignWebhook(const std::vector<std::string>& secrets, std::string_view msg_id,
                        int64_t timestamp_seconds, std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + body.size() + 24);
  content.append(msg_id).append(".").append(std::to_string(timestamp_seconds)).append(".");
  content.append(body);
  std::string out;
  for (const std::string& secret : secrets) {
    std::string_view s = secret;
    if (s.substr(0, kWebhookSecretPrefix.size()) != kWebhookSecretPrefix) return "";
    auto key = Base64Decode(s.substr(kWebhookSecretPrefix.size()));
    if (!key || key->empty()) return "";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
         reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_len);
    OPENSSL_cleanse(key->data(), key->size());
    if (!out.empty()) out += ' ';
    out += "v1,";
    out += Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
  }
  return out;
}

}  // namespace keyward
