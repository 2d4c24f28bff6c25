#include "core/verifier.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/sha256.h"
#include "core/usage.h"

namespace keyward {

std::shared_ptr<const VerifiableKey> VerifiableKey::Compile(ApiKey record) {
  auto key = std::make_shared<VerifiableKey>();
  for (const auto& text : record.ip_allowlist) {
    if (auto block = CidrBlock::Parse(text); block.ok()) key->ip_blocks.push_back(*block);
  }
  for (const auto& text : record.referrer_allowlist) {
    if (auto p = ReferrerPattern::Parse(text); p.ok()) key->referrers.push_back(*p);
  }
  for (const auto& text : record.endpoint_allowlist) {
    if (auto p = EndpointPattern::Parse(text); p.ok()) key->endpoints.push_back(*p);
  }
  key->ip_restricted = !record.ip_allowlist.empty();
  key->referrer_restricted = !record.referrer_allowlist.empty();
  key->endpoint_restricted = !record.endpoint_allowlist.empty();
  std::memcpy(&key->limiter_key, record.hash.data(), sizeof key->limiter_key);
  key->record = std::move(record);
  return key;
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

VerifyResult Verifier::Verify(const VerifyRequest& req) const {
  const Timestamp now = options_.clock->Now();
  VerifyResult result = Evaluate(req, now);
  // Every answer about a known key counts, per code; only kValid is billable.
  if (options_.usage != nullptr && result.key) options_.usage->Record(result.key, result.code, now);
  return result;
}

VerifyResult Verifier::Evaluate(const VerifyRequest& req, Timestamp now) const {
  VerifyResult result;
  if (req.key.empty()) {
    result.code = Code::kMissing;
    return result;
  }
  RateLimiter* failures = req.ip.empty() ? nullptr : options_.failure_limiter;
  const uint64_t address = failures != nullptr ? std::hash<std::string_view>{}(req.ip) : 0;
  if (failures != nullptr && !failures->WouldAdmit(address, options_.failure_limit, now)) {
    // This address has sent too many bad keys: refuse before spending a hash.
    result.code = Code::kRateLimited;
    result.ratelimit = failures->Take(address, options_.failure_limit, now);
    return result;
  }
  ParsedKey parsed;
  result.parse_error = options_.format->Parse(req.key, &parsed);
  if (result.parse_error != KeyParseError::kNone) {
    if (failures != nullptr) failures->Take(address, options_.failure_limit, now);
    result.code = Code::kMalformed;
    return result;
  }
  auto resolved = options_.resolver->Resolve(Sha256(req.key));
  if (!resolved.ok()) {
    result.code = Code::kUnavailable;
    return result;
  }
  if (*resolved == nullptr) {
    if (failures != nullptr) failures->Take(address, options_.failure_limit, now);
    result.code = Code::kInvalid;
    return result;
  }
  result.key = std::move(*resolved);
  const VerifiableKey& key = *result.key;
  const ApiKey& rec = key.record;
  if (rec.revoked_at) {
    result.code = Code::kRevoked;
    return result;
  }
  if (rec.expires_at && *rec.expires_at <= now) {
    result.code = Code::kExpired;
    return result;
  }
  if (rec.disabled) {
    result.code = Code::kDisabled;
    return result;
  }
  if (!Accepts(rec.environment) ||
      (!req.environment.empty() && req.environment != rec.environment)) {
    result.code = Code::kWrongEnvironment;
    return result;
  }
  if (key.ip_restricted) {
    const auto ip = ParseIpAddress(req.ip);
    const bool allowed = ip && std::any_of(key.ip_blocks.begin(), key.ip_blocks.end(),
                                           [&](const CidrBlock& b) { return b.Contains(*ip); });
    if (!allowed) {
      result.code = Code::kIpNotAllowed;
      return result;
    }
  }
  if (key.referrer_restricted &&
      !std::any_of(key.referrers.begin(), key.referrers.end(),
                   [&](const ReferrerPattern& p) { return p.Matches(req.referrer); })) {
    result.code = Code::kReferrerNotAllowed;
    return result;
  }
  if (key.endpoint_restricted) {
    const std::string path = NormalizeRequestPath(req.path);
    const bool allowed =
        !req.path.empty() &&
        std::any_of(key.endpoints.begin(), key.endpoints.end(),
                    [&](const EndpointPattern& p) { return p.Matches(req.method, path); });
    if (!allowed) {
      result.code = Code::kEndpointNotAllowed;
      return result;
    }
  }
  for (const auto& required : req.scopes) {
    const bool granted =
        std::any_of(rec.scopes.begin(), rec.scopes.end(),
                    [&](const std::string& g) { return ScopeGrants(g, required); });
    if (!granted) {
      result.code = Code::kInsufficientScope;
      return result;
    }
  }
  if (options_.rate_limiter != nullptr) {
    const std::optional<RateLimit>& limit =
        rec.rate_limit ? rec.rate_limit : options_.default_rate_limit;
    if (limit) {
      result.ratelimit = options_.rate_limiter->Take(key.limiter_key, *limit, now);
      if (!result.ratelimit->allowed) {
        result.code = Code::kRateLimited;
        return result;
      }
    }
  }
  result.code = Code::kValid;
  return result;
}

}  // namespace keyward
