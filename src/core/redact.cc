#include "core/redact.h"

#include <array>
#include <atomic>
#include <mutex>

#include "core/key_format.h"

namespace keyward {
namespace {

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The registered legacy shapes: appended under a mutex, read without one
// (entries below the published count never change and are never freed).
constexpr size_t kMaxLegacyShapes = 64;
std::array<const LegacyFormat*, kMaxLegacyShapes> legacy_shapes{};
std::atomic<size_t> legacy_count{0};
std::mutex legacy_mu;

size_t LegacyShapes() { return legacy_count.load(std::memory_order_acquire); }

bool HasLegacyKey(std::string_view text) {
  const size_t n = LegacyShapes();
  for (size_t i = 0; i < n; ++i) {
    size_t length = 0;
    if (legacy_shapes[i]->Find(text, &length) != std::string_view::npos) return true;
  }
  return false;
}

// Cuts every legacy key in text to its short prefix (or, found inside a
// longer run where it is not a whole key, its first 4 characters).
std::string CutLegacyKeys(std::string text) {
  const size_t n = LegacyShapes();
  for (size_t i = 0; i < n; ++i) {
    std::string out;
    size_t from = 0;
    size_t length = 0;
    for (size_t at; (at = legacy_shapes[i]->Find(std::string_view(text).substr(from), &length)) !=
                    std::string_view::npos;) {
      at += from;
      const std::string_view key = std::string_view(text).substr(at, length);
      std::string_view env;
      std::string_view prefix;
      if (!legacy_shapes[i]->Match(key, &env, &prefix) || prefix.size() >= key.size()) {
        prefix = key.substr(0, std::min<size_t>(4, key.size() / 2));
      }
      out.append(text, from, at - from);
      out.append(prefix);
      out.append("…");
      from = at + std::max<size_t>(length, 1);
    }
    if (from == 0) continue;
    out.append(text, std::min(from, text.size()));
    text = std::move(out);
  }
  return text;
}

// Whether text holds a run of kRedactMinRun base62 characters.
bool HasLongRun(std::string_view text) {
  if (text.size() < kRedactMinRun) return false;  // most log values: an IP, a code
  size_t run = 0;
  for (char c : text) {
    run = IsBase62(c) ? run + 1 : 0;
    if (run >= kRedactMinRun) return true;
  }
  return false;
}

std::string CutLongRuns(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!IsBase62(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    size_t end = i;
    while (end < text.size() && IsBase62(text[end])) ++end;
    const std::string_view run = text.substr(i, end - i);
    if (run.size() >= kRedactMinRun) {
      out.append(run.substr(0, kShortPrefixBodyChars));
      out.append("…");
    } else {
      out.append(run);
    }
    i = end;
  }
  return out;
}

}  // namespace

void RedactLegacyKeys(const std::vector<LegacyFormat>& formats) {
  std::lock_guard<std::mutex> lock(legacy_mu);
  for (const auto& f : formats) {
    const size_t n = legacy_count.load(std::memory_order_relaxed);
    bool known = false;
    for (size_t i = 0; i < n; ++i) known = known || legacy_shapes[i]->pattern() == f.pattern();
    if (known || n == kMaxLegacyShapes) continue;
    legacy_shapes[n] = new LegacyFormat(f);  // never freed: readers hold no lock
    legacy_count.store(n + 1, std::memory_order_release);
  }
}

bool HasSecretShape(std::string_view text) {
  return (LegacyShapes() > 0 && HasLegacyKey(text)) || HasLongRun(text);
}

std::string RedactSecrets(std::string_view text) {
  // Each test once: a legacy key, then a long run.
  if (LegacyShapes() > 0 && HasLegacyKey(text)) {
    return CutLongRuns(CutLegacyKeys(std::string(text)));
  }
  if (!HasLongRun(text)) return std::string(text);
  return CutLongRuns(text);
}

}  // namespace keyward
