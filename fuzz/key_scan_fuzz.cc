// The secret scanner's core: any bytes a file or a git blob may hold. What
// it finds must be exactly the whole tokens (maximal runs of
// [A-Za-z0-9_-]) that KeyFormat::Parse accepts, as a plain token-by-token
// reference scan finds them, with the right line and column; legacy shapes
// found must match their format and overlap no native key.
//
// "@LIVE@" and "@TEST@" in an input become keys whose checksum holds (a
// fuzzer does not find a CRC32 by chance), so that inputs can put real keys
// between any bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "core/key_format.h"
#include "core/key_scanner.h"
#include "fuzz/harness.h"

using keyward::KeyFinding;
using keyward::KeyFormat;
using keyward::KeyParseError;
using keyward::KeyScanner;

namespace {

std::string FixedKey(const std::string& head) {
  const std::string body = head + "0123456789abcdefghijABCDEFGHIJ0123";
  return body + keyward::KeyChecksum(body);
}

std::string Expand(std::string text) {
  for (const auto& [placeholder, key] :
       {std::pair{std::string("@LIVE@"), FixedKey("sk_live_")},
        std::pair{std::string("@TEST@"), FixedKey("sk_staging2_")}}) {
    for (size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + key.size())) {
      text.replace(at, placeholder.size(), key);
    }
  }
  return text;
}

// The reference: every maximal run, parsed whole.
std::vector<std::pair<size_t, size_t>> Reference(const KeyFormat& own, const std::string& text) {
  std::vector<std::pair<size_t, size_t>> keys;
  size_t i = 0;
  while (i < text.size()) {
    if (!keyward::ContinuesKey(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && keyward::ContinuesKey(text[end])) ++end;
    if (own.Parse(std::string_view(text).substr(i, end - i), nullptr) == KeyParseError::kNone) {
      keys.emplace_back(i, end - i);
    }
    i = end;
  }
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const KeyFormat own =
      std::move(KeyFormat::Create("sk", {"live", "test", "staging2"})).value();
  static const KeyFormat with_legacy =
      std::move(KeyFormat::Create("sk", {"live", "test", "staging2"},
                                  {{"^sk_(live|test)_[A-Za-z0-9]{20}$", "$1", 8},
                                   {"^old-[0-9a-f]{8,12}$", "live", 4}}))
          .value();
  static const KeyScanner scanner(own);
  static const KeyScanner legacy_scanner(with_legacy, true);
  const std::string text = Expand(std::string(reinterpret_cast<const char*>(data), size));

  const std::vector<KeyFinding> found = scanner.Scan(text);
  const auto expected = Reference(own, text);
  FUZZ_CHECK(found.size() == expected.size(), text);
  for (size_t i = 0; i < found.size(); ++i) {
    const KeyFinding& f = found[i];
    FUZZ_CHECK(f.offset == expected[i].first && f.key.size() == expected[i].second, text);
    FUZZ_CHECK(f.key.data() == text.data() + f.offset, text);
    FUZZ_CHECK(f.verified, text);
    FUZZ_CHECK(f.key.starts_with(f.short_prefix), text);
    size_t line = 1;
    size_t line_start = 0;
    for (size_t j = 0; j < f.offset; ++j) {
      if (text[j] == '\n') {
        ++line;
        line_start = j + 1;
      }
    }
    FUZZ_CHECK(f.line == line && f.column == f.offset - line_start + 1, text);
  }

  const std::vector<KeyFinding> all = legacy_scanner.Scan(text);
  size_t native = 0;
  size_t end_of_last = 0;
  for (const KeyFinding& f : all) {
    FUZZ_CHECK(f.offset >= end_of_last, "findings overlap: " + text);
    end_of_last = f.offset + f.key.size();
    FUZZ_CHECK(f.offset == 0 || !keyward::ContinuesKey(text[f.offset - 1]), text);
    FUZZ_CHECK(end_of_last == text.size() || !keyward::ContinuesKey(text[end_of_last]), text);
    keyward::ParsedKey parsed;
    FUZZ_CHECK(with_legacy.Parse(f.key, &parsed) == KeyParseError::kNone, text);
    FUZZ_CHECK(parsed.legacy == !f.verified, text);
    FUZZ_CHECK(f.key.starts_with(f.short_prefix) && f.short_prefix.size() < f.key.size(), text);
    if (f.verified) ++native;
  }
  FUZZ_CHECK(native == found.size(), text);
  return 0;
}
