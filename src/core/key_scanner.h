// The secret scanner's core: every key of a deployment's formats in a
// buffer of bytes (a file, a git blob), with where it is. No I/O: the
// command (cli/scan.h) reads files and blobs and hands their bytes here.
//
// A key is found as a whole token: a maximal run of the characters that
// continue a key ([A-Za-z0-9_-], the boundary legacy formats use too, see
// LegacyFormat::Find), which KeyFormat::Parse accepts as the deployment's
// own shape, checksum included. So "xasa_live_…", a key followed by more
// base62 characters or a "-suffix", a wrong length, an unknown product or
// environment and a bad CRC32 are not findings. A run shorter than the
// shortest key is never looked at closely: the scan samples one byte in
// every shortest-key-length and reads on only from a byte that may be part
// of a long enough run, so most of a source file is skipped unread.
//
// Legacy formats ([[keys.legacy]]) carry no checksum: when asked for, their
// shapes are found too (by RE2, a pass per format) and marked unverified.
//
// Thread-safe: a KeyScanner is immutable after construction; Scan may run on
// any number of threads at once.
#ifndef KEYWARD_CORE_KEY_SCANNER_H_
#define KEYWARD_CORE_KEY_SCANNER_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/key_format.h"
#include "core/legacy_format.h"

namespace keyward {

struct KeyFinding {
  size_t offset = 0;  // of the key's first byte in the scanned text
  size_t line = 1;    // 1-based: newlines before offset, plus one
  size_t column = 1;  // 1-based, in bytes from the line's start
  // Views into the scanned text (key, short_prefix) or the scanner
  // (environment, for a legacy format with a fixed one): valid while both
  // are. key is the whole secret: callers show short_prefix only.
  std::string_view key;
  std::string_view short_prefix;
  std::string_view environment;
  // false: of a legacy shape, which no checksum vouches for.
  bool verified = true;
};

// Whether c may continue a key: a letter, digit, '_' or '-'.
bool ContinuesKey(char c);

// How much of a buffer LooksBinary inspects (git's heuristic, the same
// amount).
inline constexpr size_t kBinarySniffBytes = 8000;

// Whether text looks like binary data rather than text: a NUL byte within
// its first kBinarySniffBytes.
bool LooksBinary(std::string_view text);

class KeyScanner {
 public:
  // The keys of format's product and environments; of its legacy formats
  // too when scan_legacy.
  explicit KeyScanner(const KeyFormat& format, bool scan_legacy = false);

  // Every key in text, ordered by offset. A legacy shape that overlaps a
  // key of the format's own is not reported again.
  std::vector<KeyFinding> Scan(std::string_view text) const;

  // The shortest and longest key of the format's own shape.
  size_t min_key_length() const { return min_length_; }
  size_t max_key_length() const { return max_length_; }
  bool scans_legacy() const { return !legacy_.empty(); }

 private:
  void ScanOwn(std::string_view text, std::vector<KeyFinding>* out) const;
  void ScanLegacy(std::string_view text, std::vector<KeyFinding>* out) const;

  KeyFormat own_;  // product and environments, without legacy formats
  std::vector<LegacyFormat> legacy_;
  size_t min_length_ = 0;
  size_t max_length_ = 0;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_KEY_SCANNER_H_
