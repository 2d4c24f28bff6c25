#include "core/self_service.h"

#include <algorithm>

#include "core/cidr.h"
#include "core/endpoint_pattern.h"
#include "core/referrer_pattern.h"
#include "core/time_format.h"

namespace keyward {
namespace {

// Whether every entry of inner is within some entry of outer; an empty
// outer is no restriction, an empty inner is none either (so not within a
// non-empty outer).
template <typename T, typename Within>
bool ListWithin(const std::vector<std::string>& inner, const std::vector<std::string>& outer,
                Result<T> (*parse)(std::string_view), Within within) {
  if (outer.empty()) return true;
  if (inner.empty()) return false;
  std::vector<T> bounds;
  for (const auto& o : outer) {
    if (auto p = parse(o); p.ok()) bounds.push_back(std::move(*p));
  }
  for (const auto& i : inner) {
    auto p = parse(i);
    if (!p.ok()) return false;
    if (std::none_of(bounds.begin(), bounds.end(), [&](const T& b) { return within(*p, b); })) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool RateLimitWithin(const RateLimit& limit, const RateLimit& bound) {
  // limit/period <= bound.limit/bound.period, without division.
  return limit.limit <= bound.limit &&
         static_cast<__int128>(limit.limit) * bound.period_seconds <=
             static_cast<__int128>(bound.limit) * limit.period_seconds;
}

Status CheckWithinCaller(const ApiKey& caller, const ApiKey& key,
                         const std::optional<RateLimit>& default_rate_limit) {
  const std::string who = "the calling key " + caller.id;
  if (!ListWithin<CidrBlock>(
          key.ip_allowlist, caller.ip_allowlist, &CidrBlock::Parse,
          [](const CidrBlock& a, const CidrBlock& b) { return b.Contains(a); })) {
    return Status::Forbidden("ip_allowlist must stay within the ip_allowlist of " + who +
                             " (every block inside one of its blocks)");
  }
  if (!ListWithin<ReferrerPattern>(
          key.referrer_allowlist, caller.referrer_allowlist, &ReferrerPattern::Parse,
          [](const ReferrerPattern& a, const ReferrerPattern& b) { return a.IsWithin(b); })) {
    return Status::Forbidden("referrer_allowlist must stay within the referrer_allowlist of " +
                             who + " (each entry one of its entries or a page one of them allows)");
  }
  if (!ListWithin<EndpointPattern>(
          key.endpoint_allowlist, caller.endpoint_allowlist, &EndpointPattern::Parse,
          [](const EndpointPattern& a, const EndpointPattern& b) { return a.IsWithin(b); })) {
    return Status::Forbidden("endpoint_allowlist must stay within the endpoint_allowlist of " +
                             who + " (each entry one of its entries or a path one of them allows)");
  }
  if (caller.expires_at && (!key.expires_at || *key.expires_at > *caller.expires_at)) {
    return Status::Forbidden("expires_at must be no later than " +
                             FormatRfc3339(*caller.expires_at) + ", when " + who + " expires");
  }
  const std::optional<RateLimit> bound = caller.rate_limit ? caller.rate_limit : default_rate_limit;
  const std::optional<RateLimit> own = key.rate_limit ? key.rate_limit : default_rate_limit;
  if (bound && (!own || !RateLimitWithin(*own, *bound))) {
    return Status::Forbidden("rate_limit must be no higher than " + std::to_string(bound->limit) +
                             " requests per " + std::to_string(bound->period_seconds) +
                             " s, the rate limit of " + who);
  }
  return Status::Ok();
}

}  // namespace keyward
