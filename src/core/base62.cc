#include "core/base62.h"

#include <array>
#include <limits>

namespace keyward {
namespace {

constexpr std::array<int8_t, 256> MakeValueTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i < kBase62Alphabet.size(); ++i) {
    t[static_cast<unsigned char>(kBase62Alphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}
constexpr std::array<int8_t, 256> kValues = MakeValueTable();

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

}  // namespace

int Base62Value(char c) { return kValues[static_cast<unsigned char>(c)]; }

std::string EncodeBase62Fixed(uint64_t value, int n) {
  std::string out(static_cast<size_t>(n), '0');
  for (int i = n - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kBase62Alphabet[value % 62];
    value /= 62;
  }
  return out;
}

std::optional<uint64_t> DecodeBase62(std::string_view text) {
  uint64_t v = 0;
  for (char c : text) {
    const int d = Base62Value(c);
    if (d < 0) return std::nullopt;
    if (v > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(d)) / 62) {
      return std::nullopt;
    }
    v = v * 62 + static_cast<uint64_t>(d);
  }
  return v;
}

uint32_t Crc32(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace keyward
