// The verification path: credential -> format and checksum -> SHA-256 ->
// lookup -> checks in a fixed order (revoked, expired, disabled, environment,
// IP allow-list, referrer, endpoint, scope, rate limit, credits) -> one Code.
// Only a valid answer spends credits.
// Thread-safe: Verify may be called from any number of threads at once;
// keys are immutable reference-counted records, rate limiters are
// thread-safe. A VerifyResult is used and dropped on the thread that
// verified (it may hold an epoch guard, core/epoch.h).
#ifndef KEYWARD_CORE_VERIFIER_H_
#define KEYWARD_CORE_VERIFIER_H_

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cidr.h"
#include "core/clock.h"
#include "core/code.h"
#include "core/credits.h"
#include "core/endpoint_pattern.h"
#include "core/epoch.h"
#include "core/key_format.h"
#include "core/model.h"
#include "core/policy.h"
#include "core/rate_limiter.h"
#include "core/ref_ptr.h"
#include "core/referrer_pattern.h"

namespace keyward {

class UsageRecorder;

// A key's allow-lists, parsed once; only keys that have any carry them.
struct KeyRestrictions {
  std::vector<CidrBlock> ip_blocks;
  std::vector<ReferrerPattern> referrers;
  std::vector<EndpointPattern> endpoints;
  bool ip_restricted = false;
  bool referrer_restricted = false;
  bool endpoint_restricted = false;
};

// A key's own credits (core/billing_period.h), and the balance they are
// kept in: one per rotation lineage, so a key and its successor share it.
struct VerifiableKeyCredits {
  KeyCredits credits;
  std::string balance;
};

class VerifiableKey;
// The handle everything holds a key record by: the cache, requests in
// flight, usage counters.
using KeyRef = RefPtr<const VerifiableKey>;

// A key record as verification needs it: immutable and compact, so that a
// million of them fit in memory. One allocation holds the fields, the
// reference count and, right after them, the text of its id, workspace,
// environment, name, short prefix, meta and scopes; allow-lists and credits
// hang off it only for keys that have any.
class VerifiableKey {
 public:
  // Allow-list entries that fail to parse (stored by an older or foreign
  // writer) are dropped from their list; a list left empty that was not
  // empty matches nothing, so a bad entry never widens access.
  static KeyRef Compile(const ApiKey& record);

  VerifiableKey(const VerifiableKey&) = delete;
  VerifiableKey& operator=(const VerifiableKey&) = delete;

  // The SHA-256 of the key it was compiled from (the cache's lookup key).
  const KeyHash& hash() const { return hash_; }
  std::string_view id() const { return Text(kId); }
  std::string_view workspace_id() const { return Text(kWorkspace); }
  std::string_view environment() const { return Text(kEnvironment); }
  std::string_view name() const { return Text(kName); }
  std::string_view short_prefix() const { return Text(kShortPrefix); }
  std::string_view meta_json() const { return Text(kMeta); }
  std::vector<std::string> scopes() const;
  // The scopes as one string, separated by single spaces.
  std::string_view scopes_text() const { return Text(kScopes); }
  // Whether one of the key's scopes covers required (see ScopeGrants).
  bool Grants(std::string_view required) const;

  bool revoked() const { return revoked_; }
  bool disabled() const { return disabled_; }
  std::optional<Timestamp> expires_at() const {
    return has_expiry_ ? std::optional<Timestamp>(expires_at_) : std::nullopt;
  }
  std::optional<RateLimit> rate_limit() const {
    return rate_period_ > 0 ? std::optional<RateLimit>(RateLimit{rate_limit_, rate_period_})
                            : std::nullopt;
  }
  // Its identity in the rate limiter: the same for every key of one rotation
  // lineage, so a key and its successor share one budget.
  uint64_t limiter_key() const { return limiter_key_; }
  const KeyRestrictions* restrictions() const {  // null: none
    return extras_ && extras_->restrictions ? &*extras_->restrictions : nullptr;
  }
  const VerifiableKeyCredits* credits() const {  // null: none
    return extras_ && extras_->credits ? &*extras_->credits : nullptr;
  }

  // For KeyRef.
  void AddRef() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Release() const noexcept;

  // Its last valid use, for UsageRecorder (to the second: last_used_at is
  // shown to the second). NoteUse records one and returns true when the
  // record was not already waiting to have its use written, so that the
  // caller lists it once; TakeUse ends the wait and returns the latest use.
  // Thread-safe: a use noted while TakeUse runs is either taken or makes
  // the next NoteUse list the record again, never lost.
  bool NoteUse(Timestamp now) const noexcept;
  Timestamp TakeUse() const noexcept;

  // Whether the key it was compiled from is known to carry its format's
  // checksum (see KeyFormat::ParseDeferringChecksum): a fact about the key,
  // which its hash pins, noted by the verifier the first time it checks it,
  // so that later hits skip the CRC. Unknown for a new record, and for a
  // key imported by its hash until it is presented.
  bool checksum_known() const { return checksum_known_.load(std::memory_order_relaxed); }
  void NoteChecksumHolds() const noexcept {
    if (!checksum_known()) checksum_known_.store(true, std::memory_order_relaxed);
  }

 private:
  enum Field { kId, kWorkspace, kEnvironment, kName, kShortPrefix, kMeta, kScopes, kFieldCount };
  struct Extras {
    std::optional<KeyRestrictions> restrictions;
    std::optional<VerifiableKeyCredits> credits;
  };
  VerifiableKey() = default;
  ~VerifiableKey() = default;
  // The text lives right after the object, in the same allocation.
  const char* text() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view Text(Field f) const {
    const uint16_t begin = f == 0 ? 0 : ends_[f - 1];
    return std::string_view(text() + begin, ends_[f] - begin);
  }

  KeyHash hash_{};
  mutable std::atomic<uint32_t> refs_{0};
  mutable std::atomic<uint32_t> used_second_{0};  // last valid use, Unix seconds; 0: none
  std::array<uint16_t, kFieldCount> ends_{};      // where each field ends in the text
  bool revoked_ = false;
  bool disabled_ = false;
  bool has_expiry_ = false;
  mutable std::atomic<bool> use_pending_{false};  // listed by a recorder, not yet taken
  mutable std::atomic<bool> checksum_known_{false};
  Timestamp expires_at_ = 0;
  int64_t rate_limit_ = 0;
  int64_t rate_period_ = 0;  // 0: no rate limit of its own
  uint64_t limiter_key_ = 0;
  std::unique_ptr<const Extras> extras_;
};

// Finds a key by its hash.
class KeyResolver {
 public:
  virtual ~KeyResolver() = default;
  // nullptr when no key has this hash; a Status when storage failed.
  virtual Result<KeyRef> Resolve(const KeyHash& hash) = 0;
  // The record for hash if this resolver has it at hand without a lock or
  // a reference count (a cache hit), else null, and the caller asks
  // Resolve. The caller holds an EpochGuard and uses the record only while
  // it lasts.
  virtual const VerifiableKey* Peek(const KeyHash& /*hash*/) { return nullptr; }
};

// How a VerifyResult holds its key record: borrowed from the cache under an
// epoch guard (no reference count is touched, so threads verifying the same
// key write nothing to it), or owned (a reference) when it came from
// storage. Used like a pointer, on the thread that verified; Ref() gives a
// reference to keep beyond it.
class KeyLease {
 public:
  KeyLease() = default;
  KeyLease(KeyRef owned) noexcept : owned_(std::move(owned)), key_(owned_.get()) {}  // NOLINT
  KeyLease(EpochGuard guard, const VerifiableKey* borrowed) noexcept
      : guard_(std::move(guard)), key_(borrowed) {}
  KeyLease(KeyLease&& o) noexcept
      : guard_(std::move(o.guard_)),
        owned_(std::move(o.owned_)),
        key_(std::exchange(o.key_, nullptr)) {}
  KeyLease& operator=(KeyLease&& o) noexcept {
    guard_ = std::move(o.guard_);
    owned_ = std::move(o.owned_);
    key_ = std::exchange(o.key_, nullptr);
    return *this;
  }
  // A copy borrows under a guard of its own (the original's keeps the
  // record alive meanwhile).
  KeyLease(const KeyLease& o)
      : guard_(o.guard_.active() ? EpochDomain::Get().Enter() : EpochGuard()),
        owned_(o.owned_),
        key_(o.key_) {}
  KeyLease& operator=(const KeyLease& o) {
    if (this != &o) *this = KeyLease(o);
    return *this;
  }

  const VerifiableKey* get() const noexcept { return key_; }
  const VerifiableKey& operator*() const noexcept { return *key_; }
  const VerifiableKey* operator->() const noexcept { return key_; }
  explicit operator bool() const noexcept { return key_ != nullptr; }
  KeyRef Ref() const { return KeyRef(key_); }

 private:
  EpochGuard guard_;  // active while the record is borrowed
  KeyRef owned_;
  const VerifiableKey* key_ = nullptr;
};

struct VerifyRequest {
  std::string_view key;          // the credential as presented; empty: missing
  std::string_view environment;  // when set, the key must be of this environment
  // Client address, checked against ip_allowlist and keyed (canonical form)
  // in the failed-verification limit. Not an address: allowed by no
  // allow-list, and all such values share one failure budget.
  std::string_view ip;
  std::string_view referrer;
  std::string_view method;  // with path: checked against endpoint_allowlist
  // Request target; matches an endpoint allow-list only when its path is
  // already canonical (core/request_path.h).
  std::string_view path;
  std::span<const std::string> scopes;  // required scopes, all of them
  // What a valid request costs in credits; unset: by the plan's cost rules
  // for method and path, else 1. 0 checks the key without spending.
  std::optional<int64_t> cost;
  // A managing key's own management call: authentication, not a
  // verification. It is not usage, its endpoint allow-list (which is about
  // the operator's API) does not apply, and it takes from a rate-limit
  // budget of its own, apart from the key's verifications.
  bool management = false;
};

struct VerifyResult {
  Code code = Code::kInvalid;
  KeyParseError parse_error = KeyParseError::kNone;  // why kMalformed
  KeyLease key;                                      // set whenever the key was found
  std::optional<RateLimitDecision> ratelimit;
  // The rate limit the key was held to, when one applies.
  std::optional<RateLimit> rate_limit;
  // Where credits apply: what the workspace's allowance and the key's own
  // credits have left after this request, and what it costs (spent only
  // when valid).
  std::optional<CreditState> workspace_credits;
  std::optional<CreditState> key_credits;
  int64_t cost = 0;
  bool valid() const { return code == Code::kValid; }
};

struct VerifierOptions {
  const KeyFormat* format = nullptr;
  std::vector<std::string> accept_environments;  // what this deployment authenticates
  // Expiry and usage on its wall time (wrap it in a NonDecreasingClock so
  // that a clock set back revives no expired key); rate limits and the
  // failure budget on its monotonic time, which no jump moves.
  const Clock* clock = nullptr;
  KeyResolver* resolver = nullptr;
  RateLimiter* rate_limiter = nullptr;  // null: no rate limits
  // For keys without their own: their workspace's (or its plan's), else
  // this.
  std::optional<RateLimit> default_rate_limit;
  PolicyResolver* policies = nullptr;  // null: no workspace policies
  CreditLedger* credits = nullptr;     // null: credits are not counted
  UsageRecorder* usage = nullptr;      // null: usage not counted
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

  // The failed-verification limit, for credentials checked outside Verify
  // (root keys on the management API): whether ip is over its budget, and
  // counting one more failure from it. On the clock's monotonic time, as
  // Verify counts failures.
  bool FailureLimited(std::string_view ip) const;
  void RecordFailure(std::string_view ip) const;

 private:
  // now: wall time, for expiry; monotonic: for the rate limiters.
  VerifyResult Evaluate(const VerifyRequest& request, Timestamp now, Timestamp monotonic) const;
  // ip: the request's client address, parsed (nullopt: none or not an address).
  Code CheckRestrictions(const KeyRestrictions& r, const VerifyRequest& request,
                         const std::optional<IpAddress>& ip) const;
  // Spends the request's cost from the key's credits and its workspace's
  // allowance, when they apply: kValid, kQuotaExceeded or kUnavailable.
  Code SpendCredits(const VerifiableKey& key, const WorkspacePolicy* policy,
                    const VerifyRequest& request, Timestamp now, VerifyResult* result) const;
  bool Accepts(std::string_view environment) const;
  VerifierOptions options_;
};

// The identity of an address in the failed-verification limit: its
// canonical bytes, so "::ffff:10.1.2.3" and "10.1.2.3" share one budget;
// every value that is not an address shares one other.
uint64_t AddressLimiterKey(std::string_view ip);

// Whether granted covers required: equal, "*", or "prefix:*" over
// "prefix:anything".
bool ScopeGrants(std::string_view granted, std::string_view required);

}  // namespace keyward

#endif  // KEYWARD_CORE_VERIFIER_H_
