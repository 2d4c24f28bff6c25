// Key parsing: any bytes a client presents as a key. A key that parses has
// the right product, a known environment, the right length and a checksum
// that matches; its short prefix is its own beginning. The verifier's way
// (shape first, checksum after the cache) answers exactly as Parse does.
#include <cstdint>
#include <string>

#include "core/key_format.h"
#include "fuzz/harness.h"

using keyward::KeyFormat;
using keyward::KeyParseError;
using keyward::ParsedKey;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const KeyFormat format =
      std::move(KeyFormat::Create("sk", {"live", "test", "staging2"})).value();
  const std::string key(reinterpret_cast<const char*>(data), size);
  ParsedKey parsed;
  const KeyParseError error = format.Parse(key, &parsed);
  FUZZ_CHECK(!keyward::KeyParseErrorName(error).empty(), "an unnamed parse error");
  if (error == KeyParseError::kNone) {
    FUZZ_CHECK(key.starts_with("sk_"), key);
    FUZZ_CHECK(format.HasEnvironment(parsed.environment), key);
    FUZZ_CHECK(key.size() == 3 + parsed.environment.size() + 1 + keyward::kKeyBodyChars, key);
    FUZZ_CHECK(key.substr(key.size() - keyward::kKeyChecksumChars) ==
                   keyward::KeyChecksum(key.substr(0, key.size() - keyward::kKeyChecksumChars)),
               key);
    FUZZ_CHECK(key.starts_with(parsed.short_prefix), key);
  }
  ParsedKey deferred;
  const KeyParseError shape = format.ParseDeferringChecksum(key, &deferred);
  const bool deferred_ok =
      shape == KeyParseError::kNone && (!deferred.checksum_unchecked || format.ChecksumHolds(key));
  FUZZ_CHECK(deferred_ok == (error == KeyParseError::kNone), key);
  if (shape != KeyParseError::kNone) FUZZ_CHECK(shape == error, key);
  if (deferred_ok) {
    FUZZ_CHECK(deferred.environment == parsed.environment, key);
    FUZZ_CHECK(deferred.short_prefix == parsed.short_prefix, key);
  }
  // Names for products and environments come from configuration.
  if (KeyFormat::IsValidName(key)) {
    FUZZ_CHECK(KeyFormat::Create(key, {"live"}).ok(), key);
  }
  return 0;
}
