#include "core/legacy_format.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>

namespace keyward {

struct LegacyFormat::Impl {
  std::string pattern;
  std::unique_ptr<const re2::RE2> whole;   // the pattern, matched against a whole key
  std::unique_ptr<const re2::RE2> search;  // its body unanchored, to find keys in text
  int env_group = 0;                       // 0: the environment is fixed_env
  std::string fixed_env;
  std::vector<std::string> environments;  // for a captured environment
  size_t literal_prefix = 0;              // with a fixed environment: the prefix's length
  size_t short_prefix_length = 0;
};

namespace {

Status Bad(const LegacyFormatSpec& spec, const std::string& what) {
  return Status::InvalidRequest("keys.legacy pattern \"" + spec.pattern + "\": " + what);
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Whether the $ at the end of pattern is an anchor, not an escaped "\$".
bool EndsWithAnchor(std::string_view pattern) {
  if (pattern.empty() || pattern.back() != '$') return false;
  size_t backslashes = 0;
  for (size_t i = pattern.size() - 1; i > 0 && pattern[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 0;
}

// Whether pattern's body (between its outer ^ and $) has a ^ or $ of its
// own outside a character class: an alternation of anchored shapes
// ("^a$|^b$") is matched right as a whole key, but cannot be searched for
// inside text, so keys of it would escape redaction.
bool HasInnerAnchor(std::string_view body) {
  bool in_class = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\\') {
      ++i;  // whatever it escapes
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      // "[]…]" and "[^]…]": a ] first is a member, not the end.
      if (i + 1 < body.size() && body[i + 1] == '^') ++i;
      if (i + 1 < body.size() && body[i + 1] == ']') ++i;
    } else if (c == '^' || c == '$') {
      return true;
    }
  }
  return false;
}

// What may stand next to a key found in text: not a character that could
// continue it, so that a shape with no literal prefix is not found inside an
// id ("ws_3Ozyt6gRgNHAIPByT33f").
constexpr const char* kKeyBoundary = "(?:^|[^A-Za-z0-9_-])";
constexpr const char* kKeyEnd = "(?:$|[^A-Za-z0-9_-])";

re2::RE2::Options PatternOptions() {
  re2::RE2::Options o;
  o.set_log_errors(false);
  return o;
}

}  // namespace

Result<LegacyFormat> LegacyFormat::Create(const LegacyFormatSpec& spec,
                                          const std::vector<std::string>& environments) {
  if (spec.pattern.size() > kMaxLegacyPatternLength) {
    return Bad(spec, "is longer than " + std::to_string(kMaxLegacyPatternLength) + " characters");
  }
  if (spec.pattern.size() < 2 || spec.pattern.front() != '^' || !EndsWithAnchor(spec.pattern)) {
    return Bad(spec,
               "must be anchored: start with ^ and end with $, so that it describes a whole key");
  }
  auto impl = std::make_shared<Impl>();
  impl->pattern = spec.pattern;
  impl->whole = std::make_unique<re2::RE2>(spec.pattern, PatternOptions());
  if (!impl->whole->ok()) return Bad(spec, "does not compile: " + impl->whole->error());
  const std::string body = spec.pattern.substr(1, spec.pattern.size() - 2);
  if (HasInnerAnchor(body)) {
    return Bad(spec,
               "has a ^ or $ inside it; write alternatives as ^(?:a|b)$, with one anchor at "
               "each end");
  }
  impl->search = std::make_unique<re2::RE2>(std::string(kKeyBoundary) + "(" + body + ")" + kKeyEnd,
                                            PatternOptions());
  if (!impl->search->ok()) return Bad(spec, "does not compile: " + impl->search->error());
  if (re2::RE2::FullMatch("", *impl->whole)) {
    return Bad(spec, "matches the empty string; a key format must describe a key");
  }
  {
    std::string min;
    std::string max;
    if (impl->whole->PossibleMatchRange(&min, &max, 256) && min == max) {
      return Bad(spec, "matches one string only; a key format must describe many keys");
    }
  }
  if (spec.short_prefix_length < 0 || spec.short_prefix_length > kMaxLegacyShortPrefixLength) {
    return Bad(spec, "short_prefix_length must be between 0 and " +
                         std::to_string(kMaxLegacyShortPrefixLength));
  }
  impl->short_prefix_length = static_cast<size_t>(spec.short_prefix_length);

  const std::string& env = spec.environment;
  if (env.size() >= 2 && env[0] == '$') {
    int group = 0;
    const auto [end, ec] = std::from_chars(env.data() + 1, env.data() + env.size(), group);
    if (ec != std::errc() || end != env.data() + env.size() || group < 1) {
      return Bad(spec, "environment \"" + env + "\" must be an environment's name or $1, $2, …");
    }
    if (group > impl->whole->NumberOfCapturingGroups()) {
      return Bad(spec, "environment \"" + env + "\" names capture group " + std::to_string(group) +
                           ", but the pattern has " +
                           std::to_string(impl->whole->NumberOfCapturingGroups()));
    }
    impl->env_group = group;
    impl->environments = environments;
  } else {
    if (std::find(environments.begin(), environments.end(), env) == environments.end()) {
      return Bad(spec, "environment \"" + env +
                           "\" is not in keys.environments (name one, or $N for a capture group)");
    }
    impl->fixed_env = env;
    // The prefix: what every key of the shape starts with.
    std::string min;
    std::string max;
    if (impl->whole->PossibleMatchRange(&min, &max, 64)) {
      while (impl->literal_prefix < min.size() && impl->literal_prefix < max.size() &&
             min[impl->literal_prefix] == max[impl->literal_prefix]) {
        ++impl->literal_prefix;
      }
    }
  }
  return LegacyFormat(std::move(impl));
}

bool LegacyFormat::Match(std::string_view key, std::string_view* environment,
                         std::string_view* short_prefix) const {
  const Impl& f = *impl_;
  size_t prefix_end = 0;
  if (f.env_group == 0) {
    if (!re2::RE2::FullMatch(re2::StringPiece(key.data(), key.size()), *f.whole)) return false;
    *environment = f.fixed_env;
    prefix_end = std::min(f.literal_prefix, key.size());
  } else {
    // Groups 0..env_group: RE2 fills in where each matched.
    re2::StringPiece groups[10];
    std::vector<re2::StringPiece> more;
    re2::StringPiece* sub = groups;
    const int n = f.env_group + 1;
    if (n > 10) {
      more.resize(static_cast<size_t>(n));
      sub = more.data();
    }
    if (!f.whole->Match(re2::StringPiece(key.data(), key.size()), 0, key.size(),
                        re2::RE2::ANCHOR_BOTH, sub, n)) {
      return false;
    }
    const re2::StringPiece env = sub[f.env_group];
    if (env.data() == nullptr) return false;  // an optional group that took no part
    const std::string_view env_view(env.data(), env.size());
    auto known = std::find(f.environments.begin(), f.environments.end(), env_view);
    if (known == f.environments.end()) return false;
    *environment = *known;
    prefix_end = static_cast<size_t>(env.data() + env.size() - key.data());
    while (prefix_end < key.size() && !IsAlnum(key[prefix_end])) ++prefix_end;
  }
  // Never so much that the rest could be guessed: at least a third of what
  // follows the prefix, and at least 8 characters, stay hidden.
  const size_t body = key.size() - prefix_end;
  const size_t hidden = std::max<size_t>(kMinHiddenChars, (body + 2) / 3);
  const size_t shown = std::min(f.short_prefix_length, body > hidden ? body - hidden : 0);
  *short_prefix = key.substr(0, prefix_end + shown);
  return true;
}

size_t LegacyFormat::Find(std::string_view text, size_t* length) const {
  re2::StringPiece match[2];
  if (!impl_->search->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                            re2::RE2::UNANCHORED, match, 2) ||
      match[1].data() == nullptr) {
    return std::string_view::npos;
  }
  *length = match[1].size();
  return static_cast<size_t>(match[1].data() - text.data());
}

const std::string& LegacyFormat::pattern() const { return impl_->pattern; }

}  // namespace keyward
