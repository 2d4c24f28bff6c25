// Self-service bounds: a key created, rotated or patched by a managing
// (keys:manage) API key is at least as restricted as the managing key
// itself. Its IP, referrer and endpoint allow-lists are subsets of the
// caller's, its expiry is no later, its rate limit no higher (burst and
// sustained rate both); scopes are checked by the API as ever. What a
// create leaves out is taken from the caller, so an omitted field means
// "as the caller", never "unrestricted". Root keys are not bounded.
// Thread-safe: pure functions.
#ifndef KEYWARD_CORE_SELF_SERVICE_H_
#define KEYWARD_CORE_SELF_SERVICE_H_

#include <optional>

#include "core/model.h"
#include "core/status.h"

namespace keyward {

// Forbidden, naming the first bound key goes past, when it is less
// restricted than caller; Ok otherwise. default_rate_limit is what a key
// without a rate limit of its own gets. Entries that fail to parse count
// as unrestricted (so they are refused), never as narrower.
Status CheckWithinCaller(const ApiKey& caller, const ApiKey& key,
                         const std::optional<RateLimit>& default_rate_limit);

// Whether limit allows no more than bound: no larger burst and no faster
// sustained rate.
bool RateLimitWithin(const RateLimit& limit, const RateLimit& bound);

}  // namespace keyward

#endif  // KEYWARD_CORE_SELF_SERVICE_H_
