// Key lifetime policies: when a key is due for rotation (advice: a due key
// keeps working, and verification never looks at it), and the longest a new
// key may live. The deployment sets both ([keys] rotate_after_days,
// max_key_lifetime_days); a workspace may set its own rotate_after_days,
// which wins. Pure functions: no I/O, time is passed in.
// Thread-safe: yes.
#ifndef KEYWARD_CORE_ROTATION_POLICY_H_
#define KEYWARD_CORE_ROTATION_POLICY_H_

#include <cstdint>
#include <optional>

#include "core/clock.h"
#include "core/model.h"
#include "core/status.h"

namespace keyward {

// Both policies count whole days, 1 to this.
inline constexpr int64_t kMaxPolicyDays = 3650;

// Ok for unset or 1..kMaxPolicyDays; InvalidRequest naming field otherwise.
Status ValidatePolicyDays(const std::optional<int64_t>& days, const char* field);

// The rotation policy in force for ws: its own, else the deployment's
// (unset: none).
std::optional<int64_t> EffectiveRotateAfterDays(const Workspace& ws,
                                                const std::optional<int64_t>& deployment);

// Whether key is due for rotation at now under rotate_after_days: it is
// active and at least that many days old (created_at + days <= now). A
// rotated-in replacement counts from its own created_at.
bool IsRotationDue(const ApiKey& key, const std::optional<int64_t>& rotate_after_days,
                   Timestamp now);

// The latest expires_at a key made at created_at may have under a maximum
// lifetime of max_days.
Timestamp LatestAllowedExpiry(Timestamp created_at, int64_t max_days);

// Applies a maximum lifetime (unset: none) to a new key made at created_at.
// An expiry the caller asked for (asked) that is later than the limit is
// refused, InvalidRequest naming the limit and the latest allowed time; an
// inherited one is brought forward to it; none becomes it.
Status ApplyMaxLifetime(const std::optional<int64_t>& max_days, Timestamp created_at, bool asked,
                        std::optional<Timestamp>* expires_at);

// Whether a change of an existing key's expiry to expires_at keeps within
// the maximum lifetime (unset: any does): null or later than created_at +
// max_days is InvalidRequest, as ApplyMaxLifetime words it.
Status CheckMaxLifetime(const std::optional<int64_t>& max_days, const ApiKey& key,
                        const std::optional<Timestamp>& expires_at);

}  // namespace keyward

#endif  // KEYWARD_CORE_ROTATION_POLICY_H_
