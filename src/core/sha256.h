// SHA-256 through OpenSSL 3. Keys are found and compared only by this hash.
// Thread-safe: no state is shared.
#ifndef KEYWARD_CORE_SHA256_H_
#define KEYWARD_CORE_SHA256_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace keyward {

using KeyHash = std::array<uint8_t, 32>;

KeyHash Sha256(std::string_view data);

// Lowercase hex, 64 characters.
std::string ToHex(const KeyHash& hash);

// Compares in time independent of where the hashes differ.
bool HashEquals(const KeyHash& a, const KeyHash& b);

// Inline equality for hash maps (std::array's == calls memcmp).
struct KeyHashEq {
  bool operator()(const KeyHash& a, const KeyHash& b) const noexcept {
    uint64_t x[4], y[4];
    __builtin_memcpy(x, a.data(), 32);
    __builtin_memcpy(y, b.data(), 32);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
  }
};

struct KeyHashHasher {
  size_t operator()(const KeyHash& h) const noexcept {
    size_t v;
    static_assert(sizeof(v) <= sizeof(KeyHash));
    __builtin_memcpy(&v, h.data(), sizeof v);  // a SHA-256 is already uniform
    return v;
  }
};

}  // namespace keyward

#endif  // KEYWARD_CORE_SHA256_H_
