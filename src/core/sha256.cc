#include "core/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace keyward {
namespace {

// Fetching the algorithm once avoids OpenSSL 3's per-call implicit fetch.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct CtxHolder {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~CtxHolder() { EVP_MD_CTX_free(ctx); }
};

[[noreturn]] void Die() {
  std::fputs("keyward: OpenSSL SHA-256 failed\n", stderr);
  std::abort();
}

}  // namespace

KeyHash Sha256(std::string_view data) {
  thread_local CtxHolder holder;
  KeyHash out;
  unsigned int len = 0;
  const EVP_MD* md = Sha256Md();
  if (md == nullptr || holder.ctx == nullptr || EVP_DigestInit_ex2(holder.ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(holder.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(holder.ctx, out.data(), &len) != 1 || len != out.size()) {
    Die();
  }
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
