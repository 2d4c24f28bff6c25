// Wildcards over paths, for endpoint and referrer patterns. A pattern is a
// path split into segments: within a segment "*" matches any run of
// characters (never a "/"), and a segment that is exactly "**" matches any
// number of whole segments, none included ("/v1/**" matches "/v1" too).
// Matching is linear in the path for a pattern of bounded size: segments
// match left to right with the greedy leftmost rule (sound for patterns that
// have stars and no other wildcard), a star inside a segment with memmem, so
// no input makes it backtrack.
// Thread-safe: immutable after Parse; the functions are pure.
#ifndef KEYWARD_CORE_GLOB_H_
#define KEYWARD_CORE_GLOB_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

// The longest endpoint or referrer pattern a key may hold, and how many of
// each: with these, matching one request costs a bounded amount of work.
inline constexpr size_t kMaxPatternBytes = 256;  // of a path, or of a referrer pattern
inline constexpr size_t kMaxMethodsBytes = 64;   // of an endpoint pattern's "GET,POST"
inline constexpr size_t kMaxPatternsPerKey = 32;

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}. path starts with "/".
void SplitPathSegments(std::string_view path, std::vector<std::string_view>* segments);

// Whether text (no "/") matches pattern, where "*" matches any run. Adds an
// upper bound of the work done to *steps when steps is set.
bool SegmentGlobMatch(std::string_view pattern, std::string_view text, size_t* steps = nullptr);

class PathGlob {
 public:
  // pattern starts with "/"; "**" only as a whole segment (the caller checks).
  explicit PathGlob(std::string_view pattern);

  bool Matches(std::span<const std::string_view> segments, size_t* steps = nullptr) const;
  bool Matches(std::string_view path, size_t* steps = nullptr) const;

  size_t segment_count() const { return segments_.size(); }
  bool has_wildcard() const { return has_wildcard_; }

 private:
  bool MatchRun(size_t begin, size_t end, std::span<const std::string_view> segments, size_t at,
                size_t* steps) const;
  std::vector<std::string> segments_;
  bool has_wildcard_ = false;
};

// Whether a pattern segment holding "**" is exactly "**".
bool IsValidGlobSegment(std::string_view segment);

}  // namespace keyward

#endif  // KEYWARD_CORE_GLOB_H_
