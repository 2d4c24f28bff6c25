#include "core/glob.h"

#include <string.h>

namespace keyward {

void SplitPathSegments(std::string_view path, std::vector<std::string_view>* segments) {
  segments->clear();
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    segments->push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return;
    path.remove_prefix(slash + 1);
  }
}

bool SegmentGlobMatch(std::string_view pattern, std::string_view text, size_t* steps) {
  if (steps != nullptr) *steps += pattern.size() + text.size() + 1;
  const size_t first_star = pattern.find('*');
  if (first_star == std::string_view::npos) return pattern == text;
  const size_t last_star = pattern.rfind('*');
  const std::string_view head = pattern.substr(0, first_star);
  const std::string_view tail = pattern.substr(last_star + 1);
  if (head.size() + tail.size() > text.size()) return false;
  if (text.substr(0, head.size()) != head) return false;
  if (text.substr(text.size() - tail.size()) != tail) return false;
  // The pieces between stars, each at its leftmost place after the one before.
  size_t at = head.size();
  const size_t limit = text.size() - tail.size();
  std::string_view middle = pattern.substr(first_star + 1, last_star - first_star);
  while (!middle.empty()) {
    const size_t star = middle.find('*');
    const std::string_view piece = middle.substr(0, star);
    middle.remove_prefix(star + 1);
    if (piece.empty()) continue;
    if (limit - at < piece.size()) return false;
    // memmem (two-way in glibc) is linear in haystack plus needle.
    const void* found = ::memmem(text.data() + at, limit - at, piece.data(), piece.size());
    if (found == nullptr) return false;
    at = static_cast<size_t>(static_cast<const char*>(found) - text.data()) + piece.size();
  }
  return true;
}

bool IsValidGlobSegment(std::string_view segment) {
  return segment.find("**") == std::string_view::npos || segment == "**";
}

PathGlob::PathGlob(std::string_view pattern) {
  std::vector<std::string_view> parts;
  SplitPathSegments(pattern, &parts);
  for (auto p : parts) {
    segments_.emplace_back(p);
    has_wildcard_ = has_wildcard_ || p.find('*') != std::string_view::npos;
  }
}

bool PathGlob::MatchRun(size_t begin, size_t end, std::span<const std::string_view> segments,
                        size_t at, size_t* steps) const {
  for (size_t i = begin; i < end; ++i) {
    if (!SegmentGlobMatch(segments_[i], segments[at + i - begin], steps)) return false;
  }
  return true;
}

bool PathGlob::Matches(std::span<const std::string_view> segments, size_t* steps) const {
  // The pattern as runs of segments between "**": the first run must match
  // at the start, the last at the end, the others each at its leftmost place.
  std::vector<size_t> stars;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i] == "**") stars.push_back(i);
  }
  const size_t n = segments.size();
  if (stars.empty()) {
    return n == segments_.size() && MatchRun(0, segments_.size(), segments, 0, steps);
  }
  const size_t head = stars.front();
  const size_t tail = segments_.size() - stars.back() - 1;
  if (head + tail > n) return false;
  if (!MatchRun(0, head, segments, 0, steps)) return false;
  if (!MatchRun(stars.back() + 1, segments_.size(), segments, n - tail, steps)) return false;
  size_t at = head;
  const size_t limit = n - tail;
  for (size_t s = 0; s + 1 < stars.size(); ++s) {
    const size_t begin = stars[s] + 1, end = stars[s + 1];
    const size_t length = end - begin;
    if (length == 0) continue;
    bool found = false;
    for (; at + length <= limit; ++at) {
      if (MatchRun(begin, end, segments, at, steps)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
    at += length;
  }
  return true;
}

bool PathGlob::Matches(std::string_view path, size_t* steps) const {
  std::vector<std::string_view> segments;
  SplitPathSegments(path, &segments);
  return Matches(segments, steps);
}

}  // namespace keyward
