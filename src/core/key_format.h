// The key format: "<product>_<environment>_<body>", e.g. "asa_live_Tq0x4k9P…".
//
// The body is 40 base62 characters: 34 from the OS CSPRNG, then a 6-character
// base62 CRC32 of everything before it (GitHub's token scheme). The short
// prefix ("asa_live_Tq0x4k9Pd8Mn", prefix plus 12 body characters) is what
// lists and logs show; the 22 random characters after it carry 131 bits.
// A typo or a guess fails the checksum before any lookup, and secret scanners
// can match the fixed shape with few false positives.
//
// A deployment may also accept keys of other shapes that it imported
// (core/legacy_format.h): Parse tries those after its own.
//
// Thread-safe: a KeyFormat is immutable after Create.
#ifndef KEYWARD_CORE_KEY_FORMAT_H_
#define KEYWARD_CORE_KEY_FORMAT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/legacy_format.h"
#include "core/status.h"

namespace keyward {

inline constexpr size_t kKeyRandomChars = 34;
inline constexpr size_t kKeyChecksumChars = 6;
inline constexpr size_t kKeyBodyChars = kKeyRandomChars + kKeyChecksumChars;
inline constexpr size_t kShortPrefixBodyChars = 12;

// Why a string is not a well-formed key. Callers of the API only ever see
// "malformed"; the reason is for logs and tests.
enum class KeyParseError {
  kNone,
  kUnknownProduct,
  kUnknownEnvironment,
  kWrongLength,
  kBadCharacter,
  kBadChecksum,
};

std::string_view KeyParseErrorName(KeyParseError e);

// Views into the parsed key string; valid as long as it is.
struct ParsedKey {
  std::string_view environment;
  std::string_view short_prefix;
  // Of a legacy format: no checksum vouches for it, and the key found by its
  // hash must be of this environment.
  bool legacy = false;
  // Of the format's own shape, its checksum not yet checked (only from
  // ParseDeferringChecksum).
  bool checksum_unchecked = false;
};

class KeyFormat {
 public:
  // product and every environment: 1 to 16 of [a-z0-9], starting with a
  // letter; environments distinct and at least one.
  // legacy: the other shapes it accepts, tried in order after its own.
  static Result<KeyFormat> Create(std::string product, std::vector<std::string> environments,
                                  const std::vector<LegacyFormatSpec>& legacy = {});

  // A fresh key for environment, which must be one of environments().
  std::string Generate(std::string_view environment) const;

  // Validates shape and checksum with no lookup. A key that is not of the
  // format's own shape may be of a legacy one (then out->legacy); when it is
  // of none, the error says why it is not of the format's own.
  KeyParseError Parse(std::string_view key, ParsedKey* out) const;

  // Parse, but a key of the format's own shape passes without its checksum
  // checked (out->checksum_unchecked). For the verifier, which hashes the
  // key anyway: a key whose hash it already knows to belong to a key with a
  // good checksum needs no CRC; for any other it calls ChecksumHolds, and
  // when that fails Parse, whose answer (a legacy shape, or why not) is then
  // the answer.
  KeyParseError ParseDeferringChecksum(std::string_view key, ParsedKey* out) const;
  // Whether a key that ParseDeferringChecksum passed unchecked carries the
  // right checksum.
  bool ChecksumHolds(std::string_view key) const;

  // The short prefix of the first key of any of its shapes (its own or a
  // legacy one) found anywhere in text, when there is one.
  std::optional<std::string> FindKeyIn(std::string_view text) const;

  const std::vector<LegacyFormat>& legacy() const { return legacy_; }

  const std::string& product() const { return product_; }
  const std::vector<std::string>& environments() const { return environments_; }
  bool HasEnvironment(std::string_view env) const;

  // Whether name is usable as a product or environment name.
  static bool IsValidName(std::string_view name);

 private:
  KeyFormat(std::string product, std::vector<std::string> environments)
      : product_(std::move(product)), environments_(std::move(environments)) {}
  // The format's own shape; its checksum too when check_checksum.
  KeyParseError ParseOwn(std::string_view key, ParsedKey* out, bool check_checksum = true) const;
  // The legacy shapes, in order, for a key that is not of the own one
  // (own_error: why not, returned when no legacy shape matches either).
  KeyParseError ParseLegacy(std::string_view key, ParsedKey* out, KeyParseError own_error) const;

  std::string product_;
  std::vector<std::string> environments_;
  std::vector<LegacyFormat> legacy_;
};

// The checksum characters for the key text that precedes them.
std::string KeyChecksum(std::string_view key_without_checksum);

}  // namespace keyward

#endif  // KEYWARD_CORE_KEY_FORMAT_H_
