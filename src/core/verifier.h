// The verification path: credential -> format and checksum -> SHA-256 ->
// lookup -> checks in a fixed order (revoked, expired, disabled, environment,
// IP allow-list, referrer, endpoint, scope, rate limit) -> one Code.
// Thread-safe: Verify may be called from any number of threads at once;
// keys are immutable shared records, the rate limiter is sharded.
#ifndef KEYWARD_CORE_VERIFIER_H_
#define KEYWARD_CORE_VERIFIER_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.h"
#include "core/clock.h"
#include "core/code.h"
#include "core/endpoint_pattern.h"
#include "core/key_format.h"
#include "core/model.h"
#include "core/rate_limiter.h"
#include "core/referrer_pattern.h"

namespace keyward {

class UsageRecorder;

// A key record with its allow-lists parsed once, ready to check requests.
struct VerifiableKey {
  ApiKey record;
  std::vector<CidrBlock> ip_blocks;
  std::vector<ReferrerPattern> referrers;
  std::vector<EndpointPattern> endpoints;

  // Entries that fail to parse (stored by an older or foreign writer) are
  // dropped from their list; a list left empty that was not empty matches
  // nothing, so a bad entry never widens access.
  static std::shared_ptr<const VerifiableKey> Compile(ApiKey record);
  bool ip_restricted = false;
  bool referrer_restricted = false;
  bool endpoint_restricted = false;
  uint64_t limiter_key = 0;  // the key's identity in the rate limiter
};

// Finds a key by its hash.
class KeyResolver {
 public:
  virtual ~KeyResolver() = default;
  // nullptr when no key has this hash; a Status when storage failed.
  virtual Result<std::shared_ptr<const VerifiableKey>> Resolve(const KeyHash& hash) = 0;
};

struct VerifyRequest {
  std::string_view key;          // the credential as presented; empty: missing
  std::string_view environment;  // when set, the key must be of this environment
  std::string_view ip;           // client address; checked against ip_allowlist
  std::string_view referrer;
  std::string_view method;              // with path: checked against endpoint_allowlist
  std::string_view path;                // request target; normalised before matching
  std::span<const std::string> scopes;  // required scopes, all of them
};

struct VerifyResult {
  Code code = Code::kInvalid;
  KeyParseError parse_error = KeyParseError::kNone;  // why kMalformed
  std::shared_ptr<const VerifiableKey> key;          // set whenever the key was found
  std::optional<RateLimitDecision> ratelimit;
  bool valid() const { return code == Code::kValid; }
};

struct VerifierOptions {
  const KeyFormat* format = nullptr;
  std::vector<std::string> accept_environments;  // what this deployment authenticates
  const Clock* clock = nullptr;
  KeyResolver* resolver = nullptr;
  RateLimiter* rate_limiter = nullptr;          // null: no rate limits
  std::optional<RateLimit> default_rate_limit;  // for keys without their own
  UsageRecorder* usage = nullptr;               // null: usage not counted
  // Client addresses that present malformed or unknown keys are refused
  // (rate_limited) past failure_limit, before any parsing or lookup.
  RateLimiter* failure_limiter = nullptr;  // null: no such limit
  RateLimit failure_limit{60, 60};
};

class Verifier {
 public:
  explicit Verifier(VerifierOptions options) : options_(std::move(options)) {}

  VerifyResult Verify(const VerifyRequest& request) const;

  const VerifierOptions& options() const { return options_; }

 private:
  VerifyResult Evaluate(const VerifyRequest& request, Timestamp now) const;
  bool Accepts(std::string_view environment) const;
  VerifierOptions options_;
};

// Whether granted covers required: equal, "*", or "prefix:*" over
// "prefix:anything".
bool ScopeGrants(std::string_view granted, std::string_view required);

}  // namespace keyward

#endif  // KEYWARD_CORE_VERIFIER_H_
