#include "core/key_scanner.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace keyward {

namespace {

constexpr std::array<bool, 256> MakeContinuesTable() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  t['_'] = true;
  t['-'] = true;
  return t;
}
constexpr std::array<bool, 256> kContinues = MakeContinuesTable();

inline bool Continues(const char* p, size_t i) {
  return kContinues[static_cast<unsigned char>(p[i])];
}

// The format's own shape alone: a legacy format must not vouch for a token
// that ParseOwn refused.
KeyFormat OwnShape(const KeyFormat& format) {
  return std::move(KeyFormat::Create(format.product(), format.environments())).value();
}

}  // namespace

bool ContinuesKey(char c) { return kContinues[static_cast<unsigned char>(c)]; }

bool LooksBinary(std::string_view text) {
  const size_t n = std::min(text.size(), kBinarySniffBytes);
  return n > 0 && std::memchr(text.data(), 0, n) != nullptr;
}

KeyScanner::KeyScanner(const KeyFormat& format, bool scan_legacy) : own_(OwnShape(format)) {
  if (scan_legacy) legacy_ = format.legacy();
  const size_t head = format.product().size() + 2 + kKeyBodyChars;
  min_length_ = max_length_ = head + format.environments().front().size();
  for (const auto& env : format.environments()) {
    min_length_ = std::min(min_length_, head + env.size());
    max_length_ = std::max(max_length_, head + env.size());
  }
}

std::vector<KeyFinding> KeyScanner::Scan(std::string_view text) const {
  std::vector<KeyFinding> found;
  ScanOwn(text, &found);
  if (!legacy_.empty()) {
    std::vector<KeyFinding> legacy;
    ScanLegacy(text, &legacy);
    // A legacy shape may describe a native key too (or a part of one): the
    // checksummed finding is the one that counts. Own findings do not
    // overlap each other and are in order.
    const size_t own = found.size();
    for (const auto& f : legacy) {
      const auto first_after = std::partition_point(
          found.begin(), found.begin() + static_cast<std::ptrdiff_t>(own),
          [&](const KeyFinding& g) { return g.offset + g.key.size() <= f.offset; });
      const bool overlaps = first_after != found.begin() + static_cast<std::ptrdiff_t>(own) &&
                            first_after->offset < f.offset + f.key.size();
      if (!overlaps) found.push_back(f);
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const KeyFinding& a, const KeyFinding& b) { return a.offset < b.offset; });
    // Two legacy formats may both describe one token.
    found.erase(std::unique(found.begin(), found.end(),
                            [](const KeyFinding& a, const KeyFinding& b) {
                              return a.offset == b.offset && a.key.size() == b.key.size();
                            }),
                found.end());
  }
  // Lines are counted only up to findings: a file without one costs no
  // newline count at all.
  size_t counted = 0;  // text before this has been counted
  size_t line = 1;
  size_t line_start = 0;
  for (auto& f : found) {
    const char* p = text.data();
    while (counted < f.offset) {
      const void* nl = std::memchr(p + counted, '\n', f.offset - counted);
      if (nl == nullptr) {
        counted = f.offset;
        break;
      }
      ++line;
      counted = static_cast<size_t>(static_cast<const char*>(nl) - p) + 1;
      line_start = counted;
    }
    f.line = line;
    f.column = f.offset - line_start + 1;
  }
  return found;
}

void KeyScanner::ScanOwn(std::string_view text, std::vector<KeyFinding>* out) const {
  const char* p = text.data();
  const size_t n = text.size();
  const size_t min = min_length_;
  const std::string& product = own_.product();
  // Every run of key characters that starts before `from` has been looked
  // at, and text[from - 1] (when from > 0) ends no run: it cannot continue
  // a key. A run as long as the shortest key covers one of from + min - 1,
  // from + 2 * min - 1, …: only those bytes are read until one continues a
  // key.
  size_t from = 0;
  while (n >= min && from <= n - min) {
    const size_t probe = from + min - 1;
    if (!Continues(p, probe)) {
      from = probe + 1;
      continue;
    }
    size_t start = probe;
    while (start > from && Continues(p, start - 1)) --start;
    size_t end = probe + 1;
    while (end < n && Continues(p, end)) ++end;
    const size_t length = end - start;
    if (length <= max_length_ && length >= min && p[start + product.size()] == '_' &&
        std::memcmp(p + start, product.data(), product.size()) == 0) {
      const std::string_view token(p + start, length);
      ParsedKey parsed;
      if (own_.Parse(token, &parsed) == KeyParseError::kNone) {
        KeyFinding f;
        f.offset = start;
        f.key = token;
        f.short_prefix = parsed.short_prefix;
        f.environment = parsed.environment;
        out->push_back(f);
      }
    }
    from = end + 1;  // text[end] cannot continue a key (or end == n)
  }
}

void KeyScanner::ScanLegacy(std::string_view text, std::vector<KeyFinding>* out) const {
  for (const auto& format : legacy_) {
    size_t from = 0;
    while (from < text.size()) {
      size_t length = 0;
      const size_t rel = format.Find(text.substr(from), &length);
      if (rel == std::string_view::npos || length == 0) break;
      const size_t at = from + rel;
      // Find takes the start of what it is given for a boundary; the text
      // before it may continue a token there.
      if (at > 0 && Continues(text.data(), at - 1)) {
        from = at + 1;
        continue;
      }
      const std::string_view token = text.substr(at, length);
      std::string_view environment;
      std::string_view short_prefix;
      if (format.Match(token, &environment, &short_prefix)) {
        KeyFinding f;
        f.offset = at;
        f.key = token;
        f.short_prefix = short_prefix;
        f.environment = environment;
        f.verified = false;
        out->push_back(f);
      }
      from = at + length;
    }
  }
}

}  // namespace keyward
