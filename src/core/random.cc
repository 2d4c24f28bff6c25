#include "core/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

#include "core/base62.h"

namespace keyward {

std::string RandomBase62(size_t n) {
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    if (RAND_bytes(buf, sizeof buf) != 1) {
      std::fputs("keyward: the CSPRNG failed; refusing to continue\n", stderr);
      std::abort();
    }
    for (unsigned char b : buf) {
      // 248 = 4 * 62: values at or above it would favour the first digits.
      if (b >= 248) continue;
      out.push_back(kBase62Alphabet[b % 62]);
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string NewId(std::string_view type) {
  std::string id(type);
  id.push_back('_');
  id += RandomBase62(20);
  return id;
}

}  // namespace keyward
