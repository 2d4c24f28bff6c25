#include "core/model.h"

#include "core/random.h"

namespace keyward {

std::string_view KeyStatusName(KeyStatus s) {
  switch (s) {
    case KeyStatus::kActive:
      return "active";
    case KeyStatus::kRevoked:
      return "revoked";
    case KeyStatus::kExpired:
      return "expired";
    case KeyStatus::kDisabled:
      return "disabled";
  }
  return "active";
}

std::optional<KeyStatus> KeyStatusFromName(std::string_view name) {
  if (name == "active") return KeyStatus::kActive;
  if (name == "revoked") return KeyStatus::kRevoked;
  if (name == "expired") return KeyStatus::kExpired;
  if (name == "disabled") return KeyStatus::kDisabled;
  return std::nullopt;
}

KeyStatus ApiKey::StatusAt(Timestamp now) const {
  if (revoked_at) return KeyStatus::kRevoked;
  if (expires_at && *expires_at <= now) return KeyStatus::kExpired;
  if (disabled) return KeyStatus::kDisabled;
  return KeyStatus::kActive;
}

AuditEntry MakeAuditEntry(const Actor& actor, Timestamp at, std::string action, std::string target,
                          std::string workspace_id, std::string details_json) {
  AuditEntry e;
  e.id = NewId("evt");
  e.at = at;
  e.actor = actor.id;
  e.ip = actor.ip;
  e.action = std::move(action);
  e.target = std::move(target);
  e.workspace_id = std::move(workspace_id);
  e.details_json = std::move(details_json);
  return e;
}

}  // namespace keyward
