// Key parsing: any bytes a client presents as a key. A key that parses has
// the right product, a known environment, the right length and a checksum
// that matches; its short prefix is its own beginning.
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
  // Names for products and environments come from configuration.
  if (KeyFormat::IsValidName(key)) {
    FUZZ_CHECK(KeyFormat::Create(key, {"live"}).ok(), key);
  }
  return 0;
}
