#include "core/verifier.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>

#include "core/billing_period.h"
#include "core/glob.h"
#include "core/request_path.h"
#include "core/sha256.h"
#include "core/usage.h"

namespace keyward {

KeyRef VerifiableKey::Compile(const ApiKey& record) {
  std::string scopes;
  for (const auto& scope : record.scopes) {
    if (!scopes.empty()) scopes += ' ';
    scopes += scope;  // scopes hold no spaces (ValidateScopes)
  }
  const std::string_view fields[kFieldCount] = {
      record.id,   record.workspace_id, record.environment,
      record.name, record.short_prefix, record.meta_json,
      scopes};
  size_t total = 0;
  for (const auto& f : fields) total += f.size();
  // Bounded well below this by validation (meta 8 KiB, 100 scopes); a
  // record past it is kept without its text and not trusted with access.
  const bool oversized = total > UINT16_MAX;
  if (oversized) total = 0;
  // One allocation: the record, then its text.
  void* memory = ::operator new(sizeof(VerifiableKey) + total);
  VerifiableKey* key = new (memory) VerifiableKey();
  KeyRef ref(key);
  key->hash_ = record.hash;
  if (oversized) {
    key->revoked_ = true;
    return ref;
  }
  char* text = reinterpret_cast<char*>(key + 1);
  size_t at = 0;
  for (int f = 0; f < kFieldCount; ++f) {
    if (!fields[f].empty()) std::memcpy(text + at, fields[f].data(), fields[f].size());
    at += fields[f].size();
    key->ends_[f] = static_cast<uint16_t>(at);
  }
  key->revoked_ = record.revoked_at.has_value();
  key->disabled_ = record.disabled;
  key->has_expiry_ = record.expires_at.has_value();
  key->expires_at_ = record.expires_at.value_or(0);
  if (record.rate_limit) {
    key->rate_limit_ = record.rate_limit->limit;
    key->rate_period_ = record.rate_limit->period_seconds;
  }
  // One budget per rotation lineage: the id of its first key.
  const KeyHash lineage = Sha256(record.lineage_id.empty() ? record.id : record.lineage_id);
  std::memcpy(&key->limiter_key_, lineage.data(), sizeof key->limiter_key_);
  // Allow-lists and credits hang off the record only for keys that have any.
  const bool restricted = !record.ip_allowlist.empty() || !record.referrer_allowlist.empty() ||
                          !record.endpoint_allowlist.empty();
  if (!restricted && !record.credits) return ref;
  auto extras = std::make_unique<Extras>();
  if (restricted) {
    KeyRestrictions& r = extras->restrictions.emplace();
    for (const auto& text : record.ip_allowlist) {
      if (auto block = CidrBlock::Parse(text); block.ok()) r.ip_blocks.push_back(*block);
    }
    for (const auto& text : record.referrer_allowlist) {
      if (auto p = ReferrerPattern::Parse(text); p.ok()) r.referrers.push_back(*p);
    }
    for (const auto& text : record.endpoint_allowlist) {
      if (auto p = EndpointPattern::Parse(text); p.ok()) r.endpoints.push_back(*p);
    }
    r.ip_restricted = !record.ip_allowlist.empty();
    r.referrer_restricted = !record.referrer_allowlist.empty();
    r.endpoint_restricted = !record.endpoint_allowlist.empty();
  }
  if (record.credits) {
    extras->credits.emplace(VerifiableKeyCredits{
        *record.credits,
        KeyBalanceName(record.lineage_id.empty() ? record.id : record.lineage_id)});
  }
  key->extras_ = std::move(extras);
  return ref;
}

void VerifiableKey::Release() const noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  this->~VerifiableKey();
  ::operator delete(const_cast<VerifiableKey*>(this));
}

bool VerifiableKey::NoteUse(Timestamp now) const noexcept {
  const auto second = static_cast<uint32_t>(now / kMillisPerSecond);
  // Written once a second at most: the record's line is shared by every
  // thread that verifies the key. The thread that moves the second on
  // lists the record (unless it is listed already); one that finds the
  // second current has nothing new to write. Sequentially consistent with
  // TakeUse's exchange-then-load: either TakeUse reads the new second, or
  // this thread finds the record no longer listed and lists it again.
  uint32_t seen = used_second_.load(std::memory_order_relaxed);
  do {
    if (seen >= second) return false;
  } while (!used_second_.compare_exchange_weak(seen, second));
  return !use_pending_.exchange(true);
}

Timestamp VerifiableKey::TakeUse() const noexcept {
  use_pending_.exchange(false);
  return static_cast<Timestamp>(used_second_.load()) * kMillisPerSecond;
}

std::vector<std::string> VerifiableKey::scopes() const {
  std::vector<std::string> out;
  std::string_view rest = Text(kScopes);
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    out.emplace_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return out;
}

bool VerifiableKey::Grants(std::string_view required) const {
  std::string_view rest = Text(kScopes);
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    if (ScopeGrants(rest.substr(0, space), required)) return true;
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return false;
}

bool ScopeGrants(std::string_view granted, std::string_view required) {
  if (granted == required || granted == "*") return true;
  if (granted.size() >= 2 && granted.substr(granted.size() - 2) == ":*") {
    const std::string_view prefix = granted.substr(0, granted.size() - 1);  // "orders:"
    return required.size() > prefix.size() && required.substr(0, prefix.size()) == prefix;
  }
  return false;
}

bool Verifier::Accepts(std::string_view environment) const {
  const auto& envs = options_.accept_environments;
  return std::find(envs.begin(), envs.end(), environment) != envs.end();
}

namespace {

uint64_t LimiterKeyOf(const std::optional<IpAddress>& parsed) {
  if (!parsed) return 0x6e6f742d69700000ULL;  // "not-ip": one shared budget
  uint64_t hi, lo;
  std::memcpy(&hi, parsed->bytes.data(), 8);
  std::memcpy(&lo, parsed->bytes.data() + 8, 8);
  // Mixed so that the shard (high bits) depends on the whole address.
  uint64_t h = hi * 0x9E3779B97F4A7C15ULL ^ lo;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 32);
}

}  // namespace

uint64_t AddressLimiterKey(std::string_view ip) { return LimiterKeyOf(ParseIpAddress(ip)); }

bool Verifier::FailureLimited(std::string_view ip) const {
  return options_.failure_limiter != nullptr && !ip.empty() &&
         !options_.failure_limiter->WouldAdmit(AddressLimiterKey(ip), options_.failure_limit,
                                               options_.clock->Monotonic());
}

void Verifier::RecordFailure(std::string_view ip) const {
  if (options_.failure_limiter == nullptr || ip.empty()) return;
  (void)options_.failure_limiter->Take(AddressLimiterKey(ip), options_.failure_limit,
                                       options_.clock->Monotonic());
}

VerifyResult Verifier::Verify(const VerifyRequest& req) const {
  const Timestamp now = options_.clock->Now();
  VerifyResult result = Evaluate(req, now, options_.clock->Monotonic());
  // Every answer about a known key counts, per code; only kValid is billable.
  if (options_.usage != nullptr && !req.management && result.key) {
    options_.usage->Record(result.key.get(), result.code, now, result.valid() ? result.cost : 0);
  }
  return result;
}

Code Verifier::CheckRestrictions(const KeyRestrictions& r, const VerifyRequest& req,
                                 const std::optional<IpAddress>& ip) const {
  if (r.ip_restricted) {
    const bool allowed = ip && std::any_of(r.ip_blocks.begin(), r.ip_blocks.end(),
                                           [&](const CidrBlock& b) { return b.Contains(*ip); });
    if (!allowed) return Code::kIpNotAllowed;
  }
  if (r.referrer_restricted) {
    const auto url = ParseReferrer(req.referrer);
    const bool allowed =
        url && std::any_of(r.referrers.begin(), r.referrers.end(),
                           [&](const ReferrerPattern& p) { return p.Matches(*url); });
    if (!allowed) return Code::kReferrerNotAllowed;
  }
  if (r.endpoint_restricted && !req.management) {
    // Only a path already in canonical form can match: nothing is rewritten
    // into something that might.
    std::string_view path;
    if (CheckCanonicalPath(req.path, &path) != PathProblem::kNone) {
      return Code::kEndpointNotAllowed;
    }
    std::vector<std::string_view> segments;
    SplitPathSegments(path, &segments);
    const bool allowed =
        std::any_of(r.endpoints.begin(), r.endpoints.end(),
                    [&](const EndpointPattern& p) { return p.Matches(req.method, segments); });
    if (!allowed) return Code::kEndpointNotAllowed;
  }
  return Code::kValid;
}

VerifyResult Verifier::Evaluate(const VerifyRequest& req, Timestamp now,
                                Timestamp monotonic) const {
  VerifyResult result;
  if (req.key.empty()) {
    result.code = Code::kMissing;
    return result;
  }
  // The client's address, parsed at most once and only when something
  // needs it: the failure budget once it holds any state, or an IP
  // allow-list.
  std::optional<IpAddress> client;
  bool client_parsed = false;
  auto client_address = [&]() -> const std::optional<IpAddress>& {
    if (!client_parsed) {
      if (!req.ip.empty()) client = ParseIpAddress(req.ip);
      client_parsed = true;
    }
    return client;
  };
  RateLimiter* failures = req.ip.empty() ? nullptr : options_.failure_limiter;
  auto record_failure = [&] {
    if (failures != nullptr) {
      failures->Take(LimiterKeyOf(client_address()), options_.failure_limit, monotonic);
    }
  };
  // With no failure recorded anywhere, every address is within its budget.
  if (failures != nullptr && !failures->HoldsNoState()) {
    const uint64_t address = LimiterKeyOf(client_address());
    if (!failures->WouldAdmit(address, options_.failure_limit, monotonic)) {
      // This address has sent too many bad keys: refuse before spending a hash.
      result.code = Code::kRateLimited;
      result.ratelimit = failures->Take(address, options_.failure_limit, monotonic);
      return result;
    }
  }
  // The key's shape first; its checksum (a CRC of it) only when its hash
  // is not already known to be of a key that carries a good one.
  ParsedKey parsed;
  result.parse_error = options_.format->ParseDeferringChecksum(req.key, &parsed);
  if (result.parse_error != KeyParseError::kNone) {
    record_failure();
    result.code = Code::kMalformed;
    return result;
  }
  // On a bad checksum, what Parse says: a legacy shape, or malformed.
  auto checksum_holds = [&] {
    if (options_.format->ChecksumHolds(req.key)) return true;
    result.parse_error = options_.format->Parse(req.key, &parsed);
    return result.parse_error == KeyParseError::kNone;
  };
  auto malformed = [&]() -> VerifyResult {
    record_failure();
    result.code = Code::kMalformed;
    return std::move(result);
  };
  const KeyHash hash = Sha256(req.key);
  // A cache hit is borrowed: no lock, no reference count.
  EpochGuard guard = EpochDomain::Get().Enter();
  if (const VerifiableKey* cached = options_.resolver->Peek(hash)) {
    if (parsed.checksum_unchecked && !cached->checksum_known()) {
      if (!checksum_holds()) return malformed();
      if (!parsed.legacy) cached->NoteChecksumHolds();
    }
    result.key = KeyLease(std::move(guard), cached);
  } else {
    guard = EpochGuard();
    // Checked before storage is asked: a typo or a guess costs no lookup.
    if (parsed.checksum_unchecked && !checksum_holds()) return malformed();
    auto resolved = options_.resolver->Resolve(hash);
    if (!resolved.ok()) {
      result.code = Code::kUnavailable;
      return result;
    }
    if (*resolved == nullptr) {
      record_failure();
      result.code = Code::kInvalid;
      return result;
    }
    if (parsed.checksum_unchecked && !parsed.legacy) (*resolved)->NoteChecksumHolds();
    result.key = KeyLease(std::move(*resolved));
  }
  const VerifiableKey& key = *result.key;

  if (key.revoked()) {
    result.code = Code::kRevoked;
    return result;
  }
  // Expiry is a calendar time, so wall time: the one thing here a clock set
  // back or forward can move (see NonDecreasingClock).
  if (const auto expires = key.expires_at(); expires && *expires <= now) {
    result.code = Code::kExpired;
    return result;
  }
  if (key.disabled()) {
    result.code = Code::kDisabled;
    return result;
  }
  // The key's own text names its environment: a key stored under another
  // one (imported by hash into the wrong environment) never passes for it.
  if (!Accepts(key.environment()) ||
      (!req.environment.empty() && req.environment != key.environment()) ||
      parsed.environment != key.environment()) {
    result.code = Code::kWrongEnvironment;
    return result;
  }
  if (const KeyRestrictions* r = key.restrictions()) {
    result.code = CheckRestrictions(*r, req, client_address());
    if (result.code != Code::kValid) return result;
  }
  for (const auto& required : req.scopes) {
    if (!key.Grants(required)) {
      result.code = Code::kInsufficientScope;
      return result;
    }
  }
  // The workspace's policy: its (or its plan's) rate limit and credits.
  // Borrowed: valid until this thread borrows again, after this request.
  const WorkspacePolicy* policy = nullptr;
  if (options_.policies != nullptr && !req.management) {
    auto found = options_.policies->Borrow(key.workspace_id());
    if (!found.ok()) {
      result.code = Code::kUnavailable;
      return result;
    }
    policy = *found;
  }
  if (options_.rate_limiter != nullptr) {
    std::optional<RateLimit> limit = key.rate_limit();
    if (!limit && policy) limit = policy->rate_limit;
    if (!limit) limit = options_.default_rate_limit;
    result.rate_limit = limit;
    if (limit) {
      constexpr uint64_t kManagementBudget = 0x6d616e6167656d74ULL;  // "managemt"
      result.ratelimit = options_.rate_limiter->Take(
          req.management ? key.limiter_key() ^ kManagementBudget : key.limiter_key(), *limit,
          monotonic);
      if (!result.ratelimit->allowed) {
        result.code = Code::kRateLimited;
        return result;
      }
    }
  }
  if (options_.credits != nullptr && !req.management) {
    result.code = SpendCredits(key, policy, req, now, &result);
    return result;
  }
  result.code = Code::kValid;
  return result;
}

Code Verifier::SpendCredits(const VerifiableKey& key, const WorkspacePolicy* policy,
                            const VerifyRequest& req, Timestamp now, VerifyResult* result) const {
  const VerifiableKeyCredits* own = key.credits();
  const bool allowance = policy != nullptr && policy->monthly_credits.has_value();
  const int64_t cost = req.cost ? *req.cost : policy ? policy->CostOf(req.method, req.path) : 1;
  // Counted even with nothing to spend from: usage is billed by it.
  result->cost = cost;
  if (own == nullptr && !allowance) return Code::kValid;
  // A key's balance before its workspace's: the lock order CreditLedger needs.
  CreditCharge charges[2];
  CreditState states[2];
  size_t n = 0;
  if (own != nullptr) {
    const KeyBalance b = KeyBalanceAt(own->credits, now);
    charges[n++] = CreditCharge{own->balance, b.period.start, b.limit, b.period.end, {}, {}};
  }
  if (allowance) {
    // The balance's name, built in a buffer each serving thread keeps: no
    // allocation per request.
    thread_local std::string workspace_balance;
    workspace_balance.assign("ws/")
        .append(key.workspace_id())
        .append("/")
        .append(key.environment());
    const Period p = MonthlyPeriod(now, policy->billing_anchor_day);
    charges[n++] =
        CreditCharge{workspace_balance,  p.start,          *policy->monthly_credits, p.end,
                     key.workspace_id(), key.environment()};
  }
  const SpendOutcome outcome =
      options_.credits->Spend(std::span(charges, n), cost, std::span(states, n));
  if (outcome == SpendOutcome::kUnavailable) return Code::kUnavailable;
  size_t i = 0;
  if (own != nullptr) result->key_credits = states[i++];
  if (allowance) result->workspace_credits = states[i++];
  if (outcome == SpendOutcome::kExhausted) return Code::kQuotaExceeded;
  return Code::kValid;
}

}  // namespace keyward
