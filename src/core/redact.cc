#include "core/redact.h"

#include "core/key_format.h"

namespace keyward {
namespace {

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

bool HasSecretShape(std::string_view text) {
  if (text.size() < kRedactMinRun) return false;  // most log values: an IP, a code
  size_t run = 0;
  for (char c : text) {
    run = IsBase62(c) ? run + 1 : 0;
    if (run >= kRedactMinRun) return true;
  }
  return false;
}

std::string RedactSecrets(std::string_view text) {
  if (!HasSecretShape(text)) return std::string(text);
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

}  // namespace keyward
