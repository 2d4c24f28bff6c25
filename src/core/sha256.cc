#include "core/sha256.h"

// OpenSSL 3 marks the SHA256_* functions deprecated in favour of EVP, but
// they call the same block function (SHA-NI where the CPU has it) without
// EVP's per-call provider dispatch, init and cleanse: for a 50-byte key that
// is about a third of the time (docs/performance.md, section 1).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace keyward {

KeyHash Sha256(std::string_view data) {
  KeyHash out;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

std::string ToHex(const KeyHash& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < hash.size(); ++i) {
    out[2 * i] = kHex[hash[i] >> 4];
    out[2 * i + 1] = kHex[hash[i] & 15];
  }
  return out;
}

bool HashEquals(const KeyHash& a, const KeyHash& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace keyward
