#include "core/glob.h"

#include <vector>

namespace keyward {

// Dynamic programming over pattern positions: O(|pattern| * |text|) time,
// O(|pattern|) memory, with no backtracking explosion.
bool GlobMatch(std::string_view pattern, std::string_view text, char separator) {
  const size_t n = pattern.size();
  // reach[i]: pattern[0..i) can match the text consumed so far.
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  auto close = [&](std::vector<char>& r) {
    // A star may match nothing: let reach flow over stars.
    for (size_t i = 0; i < n; ++i) {
      if (r[i] && pattern[i] == '*') r[i + 1] = 1;
    }
  };
  reach[0] = 1;
  close(reach);
  for (char c : text) {
    std::fill(next.begin(), next.end(), 0);
    for (size_t i = 0; i < n; ++i) {
      if (!reach[i]) continue;
      const char p = pattern[i];
      if (p == '*') {
        const bool double_star =
            (i + 1 < n && pattern[i + 1] == '*') || (i > 0 && pattern[i - 1] == '*');
        if (double_star || separator == '\0' || c != separator) next[i] = 1;
      } else if (p == c) {
        next[i + 1] = 1;
      }
    }
    close(next);
    reach.swap(next);
  }
  return reach[n] != 0;
}

}  // namespace keyward
