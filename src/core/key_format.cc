#include "core/key_format.h"

#include <algorithm>

#include "core/base62.h"
#include "core/random.h"

namespace keyward {

std::string_view KeyParseErrorName(KeyParseError e) {
  switch (e) {
    case KeyParseError::kNone:
      return "none";
    case KeyParseError::kUnknownProduct:
      return "unknown_product";
    case KeyParseError::kUnknownEnvironment:
      return "unknown_environment";
    case KeyParseError::kWrongLength:
      return "wrong_length";
    case KeyParseError::kBadCharacter:
      return "bad_character";
    case KeyParseError::kBadChecksum:
      return "bad_checksum";
  }
  return "unknown";
}

bool KeyFormat::IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 16) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

Result<KeyFormat> KeyFormat::Create(std::string product, std::vector<std::string> environments,
                                    const std::vector<LegacyFormatSpec>& legacy) {
  if (!IsValidName(product)) {
    return Status::InvalidRequest(
        "product prefix \"" + product +
        "\" must be 1-16 characters of a-z and 0-9, starting with a letter");
  }
  if (environments.empty()) return Status::InvalidRequest("at least one environment is needed");
  for (size_t i = 0; i < environments.size(); ++i) {
    if (!IsValidName(environments[i])) {
      return Status::InvalidRequest(
          "environment \"" + environments[i] +
          "\" must be 1-16 characters of a-z and 0-9, starting with a letter");
    }
    for (size_t j = 0; j < i; ++j) {
      if (environments[j] == environments[i]) {
        return Status::InvalidRequest("environment \"" + environments[i] + "\" is listed twice");
      }
    }
  }
  KeyFormat format(std::move(product), std::move(environments));
  for (const auto& spec : legacy) {
    auto f = LegacyFormat::Create(spec, format.environments_);
    if (!f.ok()) return f.status();
    format.legacy_.push_back(std::move(*f));
  }
  return format;
}

namespace {

// Names are at most 16 bytes: a byte loop beats a call to memcmp.
bool ShortEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

bool KeyFormat::HasEnvironment(std::string_view env) const {
  for (const auto& e : environments_) {
    if (ShortEquals(e, env)) return true;
  }
  return false;
}

std::string KeyChecksum(std::string_view key_without_checksum) {
  return EncodeBase62Fixed(Crc32(key_without_checksum), static_cast<int>(kKeyChecksumChars));
}

std::string KeyFormat::Generate(std::string_view environment) const {
  std::string key;
  key.reserve(product_.size() + environment.size() + 2 + kKeyBodyChars);
  key += product_;
  key += '_';
  key += environment;
  key += '_';
  key += RandomBase62(kKeyRandomChars);
  key += KeyChecksum(key);
  return key;
}

KeyParseError KeyFormat::Parse(std::string_view key, ParsedKey* out) const {
  const KeyParseError own = ParseOwn(key, out);
  if (own == KeyParseError::kNone || legacy_.empty()) return own;
  return ParseLegacy(key, out, own);
}

KeyParseError KeyFormat::ParseDeferringChecksum(std::string_view key, ParsedKey* out) const {
  const KeyParseError own = ParseOwn(key, out, /*check_checksum=*/false);
  if (own == KeyParseError::kNone) {
    if (out != nullptr) out->checksum_unchecked = true;
    return own;
  }
  // Everything but the checksum is checked first, so a key that fails here
  // fails Parse's own shape for the same reason.
  if (legacy_.empty()) return own;
  return ParseLegacy(key, out, own);
}

KeyParseError KeyFormat::ParseLegacy(std::string_view key, ParsedKey* out,
                                     KeyParseError own_error) const {
  ParsedKey parsed;
  for (const auto& f : legacy_) {
    if (f.Match(key, &parsed.environment, &parsed.short_prefix)) {
      parsed.legacy = true;
      if (out != nullptr) *out = parsed;
      return KeyParseError::kNone;
    }
  }
  return own_error;
}

bool KeyFormat::ChecksumHolds(std::string_view key) const {
  if (key.size() < kKeyChecksumChars) return false;
  const size_t checksum_at = key.size() - kKeyChecksumChars;
  // Six base62 digits stay below 2^36: no overflow.
  uint64_t expected = 0;
  for (size_t i = checksum_at; i < key.size(); ++i) {
    const int digit = Base62Value(key[i]);
    if (digit < 0) return false;
    expected = expected * 62 + static_cast<uint64_t>(digit);
  }
  return expected == Crc32(key.substr(0, checksum_at));
}

std::optional<std::string> KeyFormat::FindKeyIn(std::string_view text) const {
  for (const auto& env : environments_) {
    const std::string head = product_ + "_" + env + "_";
    const size_t length = head.size() + kKeyBodyChars;
    for (size_t at = text.find(head); at != std::string_view::npos; at = text.find(head, at + 1)) {
      ParsedKey parsed;
      if (text.size() - at >= length &&
          ParseOwn(text.substr(at, length), &parsed) == KeyParseError::kNone) {
        return std::string(parsed.short_prefix);
      }
    }
  }
  for (const auto& f : legacy_) {
    size_t length = 0;
    const size_t at = f.Find(text, &length);
    if (at == std::string_view::npos) continue;
    std::string_view environment;
    std::string_view short_prefix;
    // Found inside a longer run, the key may not match as a whole: show no
    // more than its first characters then.
    if (f.Match(text.substr(at, length), &environment, &short_prefix)) {
      return std::string(short_prefix);
    }
    return std::string(text.substr(at, std::min<size_t>(length, 4)));
  }
  return std::nullopt;
}

KeyParseError KeyFormat::ParseOwn(std::string_view key, ParsedKey* out, bool check_checksum) const {
  if (key.size() <= product_.size() || !ShortEquals(key.substr(0, product_.size()), product_) ||
      key[product_.size()] != '_') {
    return KeyParseError::kUnknownProduct;
  }
  // Environment names are at most 16 bytes: a byte loop beats memchr's call.
  const size_t env_start = product_.size() + 1;
  size_t env_end = env_start;
  while (env_end < key.size() && key[env_end] != '_') ++env_end;
  if (env_end == key.size()) return KeyParseError::kUnknownEnvironment;
  const std::string_view env = key.substr(env_start, env_end - env_start);
  if (!HasEnvironment(env)) return KeyParseError::kUnknownEnvironment;
  const std::string_view body = key.substr(env_end + 1);
  if (body.size() != kKeyBodyChars) return KeyParseError::kWrongLength;
  // Base62 is [0-9A-Za-z]: two range checks a byte, with no table and no
  // branch, which the compiler turns into a few vector compares.
  unsigned bad = 0;
  for (char ch : body) {
    const auto c = static_cast<unsigned char>(ch);
    const bool digit = static_cast<unsigned char>(c - '0') < 10;
    const bool letter = static_cast<unsigned char>((c | 0x20) - 'a') < 26;
    bad |= static_cast<unsigned>(!(digit || letter));
  }
  if (bad != 0) return KeyParseError::kBadCharacter;
  if (check_checksum && !ChecksumHolds(key)) return KeyParseError::kBadChecksum;
  if (out != nullptr) {
    out->environment = env;
    out->short_prefix = key.substr(0, env_end + 1 + kShortPrefixBodyChars);
  }
  return KeyParseError::kNone;
}

}  // namespace keyward
