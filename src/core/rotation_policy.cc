#include "core/rotation_policy.h"

#include <string>

#include "core/time_format.h"

namespace keyward {
namespace {

constexpr Timestamp kMillisPerDay = 86'400'000;

std::string LimitText(int64_t max_days) {
  return "keys live at most " + std::to_string(max_days) +
         " days on this deployment ([keys] max_key_lifetime_days)";
}

Status TooLate(int64_t max_days, Timestamp latest) {
  return Status::InvalidRequest("expires_at must be no later than " + FormatRfc3339(latest) + ": " +
                                LimitText(max_days));
}

}  // namespace

Status ValidatePolicyDays(const std::optional<int64_t>& days, const char* field) {
  if (days && (*days < 1 || *days > kMaxPolicyDays)) {
    return Status::InvalidRequest(std::string(field) + " must be between 1 and " +
                                  std::to_string(kMaxPolicyDays) + " (days)");
  }
  return Status::Ok();
}

std::optional<int64_t> EffectiveRotateAfterDays(const Workspace& ws,
                                                const std::optional<int64_t>& deployment) {
  return ws.rotate_after_days ? ws.rotate_after_days : deployment;
}

bool IsRotationDue(const ApiKey& key, const std::optional<int64_t>& rotate_after_days,
                   Timestamp now) {
  if (!rotate_after_days || key.StatusAt(now) != KeyStatus::kActive) return false;
  return key.created_at + *rotate_after_days * kMillisPerDay <= now;
}

Timestamp LatestAllowedExpiry(Timestamp created_at, int64_t max_days) {
  return created_at + max_days * kMillisPerDay;
}

Status ApplyMaxLifetime(const std::optional<int64_t>& max_days, Timestamp created_at, bool asked,
                        std::optional<Timestamp>* expires_at) {
  if (!max_days) return Status::Ok();
  const Timestamp latest = LatestAllowedExpiry(created_at, *max_days);
  if (!*expires_at || **expires_at > latest) {
    if (asked && *expires_at) return TooLate(*max_days, latest);
    *expires_at = latest;
  }
  return Status::Ok();
}

Status CheckMaxLifetime(const std::optional<int64_t>& max_days, const ApiKey& key,
                        const std::optional<Timestamp>& expires_at) {
  if (!max_days) return Status::Ok();
  const Timestamp latest = LatestAllowedExpiry(key.created_at, *max_days);
  if (!expires_at) {
    return Status::InvalidRequest("expires_at cannot be null: " + LimitText(*max_days) +
                                  ", so API key " + key.id + " must expire no later than " +
                                  FormatRfc3339(latest));
  }
  if (*expires_at > latest) return TooLate(*max_days, latest);
  return Status::Ok();
}

}  // namespace keyward
