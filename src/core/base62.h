// Base62 and CRC32, the two encodings of keyward's key body (GitHub's token
// scheme: random base62 characters, then a 6-character base62 CRC32).
// Alphabet: 0-9, A-Z, a-z, in that order. Thread-safe: pure functions.
#ifndef KEYWARD_CORE_BASE62_H_
#define KEYWARD_CORE_BASE62_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyward {

inline constexpr std::string_view kBase62Alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

namespace internal {
constexpr std::array<int8_t, 256> MakeBase62Values() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i < kBase62Alphabet.size(); ++i) {
    t[static_cast<unsigned char>(kBase62Alphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}
inline constexpr std::array<int8_t, 256> kBase62Values = MakeBase62Values();
}  // namespace internal

// The digit value of c, or -1 when c is not a base62 character.
inline int Base62Value(char c) { return internal::kBase62Values[static_cast<unsigned char>(c)]; }

inline bool IsBase62(char c) { return Base62Value(c) >= 0; }

// n base62 digits of value, most significant first, zero-padded. Digits that
// do not fit are dropped from the top, so callers pick n large enough.
std::string EncodeBase62Fixed(uint64_t value, int n);

// The value of a base62 string, or nullopt on a bad character or overflow.
std::optional<uint64_t> DecodeBase62(std::string_view text);

// CRC-32 (IEEE 802.3, the one zlib and GitHub use). Crc32("123456789") is
// 0xCBF43926.
uint32_t Crc32(std::string_view data);

}  // namespace keyward

#endif  // KEYWARD_CORE_BASE62_H_
