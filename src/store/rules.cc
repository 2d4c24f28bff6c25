#include "store/rules.h"

#include <nlohmann/json.hpp>

namespace keyward {
namespace store_rules {

std::string ToJsonArray(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

std::vector<std::string> FromJsonArray(const std::string& text) {
  std::vector<std::string> out;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::optional<int64_t> RateLimitCount(const ApiKey& k) {
  return k.rate_limit ? std::optional<int64_t>(k.rate_limit->limit) : std::nullopt;
}

std::optional<int64_t> RateLimitPeriod(const ApiKey& k) {
  return k.rate_limit ? std::optional<int64_t>(k.rate_limit->period_seconds) : std::nullopt;
}

void MarkRevoked(ApiKey* key, Timestamp at, std::string_view by, std::string_view reason) {
  key->revoked_at = at;
  key->revoked_by = std::string(by);
  key->revoked_reason = std::string(reason);
}

Status CheckLimit(int limit) {
  if (limit < 1 || limit > 1000) return Status::InvalidRequest("limit must be between 1 and 1000");
  return Status::Ok();
}

std::string ContainsPattern(std::string_view text) {
  std::string like = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') like += '\\';
    like += c;
  }
  like += '%';
  return like;
}

Status CheckKeyLimit(std::string_view workspace_id, int64_t active, int64_t max_active) {
  if (active < max_active) return Status::Ok();
  return Status::KeyLimitReached("workspace " + std::string(workspace_id) + " already has " +
                                 std::to_string(active) + " active keys, its limit; " +
                                 "revoke an unused key first");
}

Status CheckKeyUpdate(const ApiKey& current, const ApiKey& k, int64_t max_active, Timestamp now,
                      const Reads& reads, bool* stale) {
  *stale = false;
  if (current.revoked_at) return Status::KeyRevoked("API key " + k.id + " is revoked");
  if (current.version != k.version) {
    *stale = true;
    return Status::Conflict("API key " + k.id + " changed while this update was prepared");
  }
  if (k.expires_at != current.expires_at &&
      (!k.expires_at || (current.expires_at && *k.expires_at > *current.expires_at))) {
    // A replaced key's expiry is its rotation's: it may end sooner, never later.
    auto heir = reads.heir_of(k.id);
    if (!heir.ok()) return heir.status();
    if (*heir) {
      return Status::Conflict("API key " + k.id + " was rotated (its replacement is " + **heir +
                              "); its expiry can move earlier, never later or away");
    }
  }
  const auto expired = [now](const ApiKey& key) {
    return key.expires_at && *key.expires_at <= now;
  };
  const bool was_working = !expired(current) && !current.disabled;
  const bool will_work = !expired(k) && !k.disabled;
  if (!was_working && will_work) {
    // Bringing a key back takes a slot like creating one: the workspace's
    // other keys must leave room for it.
    auto active = reads.count_active();
    if (!active.ok()) return active.status();
    const int64_t others = *active - (expired(current) ? 0 : 1);
    if (others >= max_active) {
      return Status::KeyLimitReached("workspace " + k.workspace_id + " has " +
                                     std::to_string(others) + " other active keys and a limit of " +
                                     std::to_string(max_active) +
                                     "; revoke an unused key before bringing this one back");
    }
  }
  return Status::Ok();
}

Status CheckRotation(const ApiKey& old, const ApiKey& replacement, Timestamp old_expires_at,
                     int64_t max_active, Timestamp now, const Reads& reads, bool* stale) {
  const std::string& id = old.id;
  *stale = false;
  if (old.revoked_at) return Status::KeyRevoked("API key " + id + " is revoked");
  if (old.expires_at && *old.expires_at <= now) {
    return Status::Conflict("API key " + id +
                            " has expired; an expired key cannot be rotated, create a new key");
  }
  {
    // One replacement per key: a second rotation would leave two live heirs.
    auto heir = reads.heir_of(id);
    if (!heir.ok()) return heir.status();
    if (*heir) {
      return Status::Conflict("API key " + id + " was already rotated; its replacement is " +
                              **heir + " (rotate that one instead)");
    }
  }
  if (old.version != replacement.version) {
    // Made from an older read: it would carry settings changed since (a
    // disable, a narrower allow-list) back to life in the new key.
    *stale = true;
    return Status::Conflict("API key " + id + " changed while this rotation was prepared");
  }
  if (!old.rotated_from.empty()) {
    // One grace per slot: while this key's predecessor still works, a second
    // rotation would put a third key in the slot.
    auto predecessor = reads.get_key(old.rotated_from);
    if (!predecessor.ok() && !predecessor.status().IsNotFound()) return predecessor.status();
    if (predecessor.ok() && !predecessor->revoked_at &&
        (!predecessor->expires_at || *predecessor->expires_at > now)) {
      return Status::Conflict("API key " + id + " replaced " + predecessor->id +
                              ", which still works until its rotation grace ends; revoke " +
                              predecessor->id + " (or wait) before rotating again");
    }
  }
  if (old_expires_at > now) {
    // The grace lets the workspace go one over its limit, never more.
    auto active = reads.count_active();
    if (!active.ok()) return active.status();
    if (*active > max_active) {
      return Status::KeyLimitReached(
          "workspace " + old.workspace_id + " has " + std::to_string(*active) +
          " active keys, more than its limit of " + std::to_string(max_active) +
          ", and a grace would add one more; rotate with grace_seconds 0 or revoke an unused "
          "key first");
    }
  }
  return Status::Ok();
}

Status CheckPortalCode(const PortalSession& ps, Timestamp now) {
  if (ps.ended_at) return Status::Conflict("this link was withdrawn by the operator");
  if (ps.code_used_at) return Status::Conflict("this link was already used");
  if (now >= ps.code_expires_at) return Status(Code::kExpired, "this link has expired");
  return Status::Ok();
}

}  // namespace store_rules
}  // namespace keyward
