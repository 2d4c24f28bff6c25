#include "store/rules.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/time_format.h"

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

std::optional<int64_t> RateLimitCount(const ApiKey& k) { return RateLimitCount(k.rate_limit); }

std::optional<int64_t> RateLimitPeriod(const ApiKey& k) { return RateLimitPeriod(k.rate_limit); }

std::optional<int64_t> RateLimitCount(const std::optional<RateLimit>& r) {
  return r ? std::optional<int64_t>(r->limit) : std::nullopt;
}

std::optional<int64_t> RateLimitPeriod(const std::optional<RateLimit>& r) {
  return r ? std::optional<int64_t>(r->period_seconds) : std::nullopt;
}

std::string CostRulesToJson(const std::vector<CostRule>& rules) {
  auto out = nlohmann::json::array();
  for (const auto& r : rules) out.push_back({{"endpoint", r.endpoint}, {"cost", r.cost}});
  return out.dump();
}

std::vector<CostRule> CostRulesFromJson(const std::string& text) {
  std::vector<CostRule> out;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    const auto endpoint = e.find("endpoint");
    const auto cost = e.find("cost");
    if (endpoint == e.end() || !endpoint->is_string() || cost == e.end() ||
        !cost->is_number_integer()) {
      continue;
    }
    out.push_back({endpoint->get<std::string>(), cost->get<int64_t>()});
  }
  return out;
}

std::string_view RefillIntervalName(KeyCredits::Interval interval) {
  return interval == KeyCredits::Interval::kDaily ? "daily" : "monthly";
}

KeyCredits::Interval RefillIntervalFromName(std::string_view name) {
  return name == "daily" ? KeyCredits::Interval::kDaily : KeyCredits::Interval::kMonthly;
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
  // active may exceed the limit (lowered since, or imported past it): name both.
  return Status::KeyLimitReached("workspace " + std::string(workspace_id) + " has " +
                                 std::to_string(active) + " active keys and its limit is " +
                                 std::to_string(max_active) + "; revoke an unused key" +
                                 (active > max_active ? "s" : "") + " first");
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

std::string KeyImportColumns() {
  return std::string(kKeyInsertColumns) + ", last_used_at, revoked_at, revoked_by, revoked_reason";
}

int KeyImportColumnCount() {
  const std::string columns = KeyImportColumns();
  return static_cast<int>(std::count(columns.begin(), columns.end(), ',')) + 1;
}

ImportedKey ImportOutcomeOf(const ImportKeyRow& row, const std::optional<KeyHolder>& holder,
                            bool id_taken, bool has_workspace) {
  const ApiKey& k = row.key;
  if (holder) {
    // A hash is one key: never a second one, never merged into another.
    const bool same = holder->workspace_id == k.workspace_id &&
                      holder->environment == k.environment && (!row.id_given || holder->id == k.id);
    return {same ? ImportOutcome::kUnchanged : ImportOutcome::kHashConflict, holder->id};
  }
  if (id_taken) return {ImportOutcome::kIdConflict, k.id};
  if (!has_workspace) return {ImportOutcome::kNoWorkspace, k.id};
  return {ImportOutcome::kImported, k.id};
}

Status CheckPortalCode(const PortalSession& ps, Timestamp now) {
  if (ps.ended_at) return Status::Conflict("this link was withdrawn by the operator");
  if (ps.code_used_at) return Status::Conflict("this link was already used");
  if (now >= ps.code_expires_at) return Status(Code::kExpired, "this link has expired");
  return Status::Ok();
}

Status NoSuchPlan(std::string_view plan_id) {
  return Status::InvalidRequest("no plan " + std::string(plan_id));
}

int64_t CreditGrant(int64_t available, int64_t min, int64_t want) {
  if (want <= 0) return 0;
  const int64_t grant = std::min(want, std::max(min, available / 2));
  return grant >= min && grant <= available ? grant : 0;
}

std::vector<int> CreditThresholdsReached(int64_t spent, int64_t limit) {
  std::vector<int> out;
  if (limit <= 0) return out;
  for (const int t : kCreditThresholds) {
    if (spent * 100 >= static_cast<int64_t>(t) * limit) out.push_back(t);
  }
  return out;
}

AuditEntry CreditThresholdAudit(const CreditSpend& spend, int64_t spent, int threshold,
                                Timestamp at) {
  const nlohmann::json details = {{"environment", spend.environment},
                                  {"balance", spend.id.balance},
                                  {"period_start", FormatRfc3339(spend.id.period_start)},
                                  {"limit", spend.limit},
                                  {"spent", spent},
                                  {"threshold", threshold}};
  return MakeAuditEntry(Actor{"keyward", ""}, at,
                        threshold == 100 ? "workspace.credits_exhausted" : "workspace.credits_low",
                        spend.workspace_id, spend.workspace_id, details.dump());
}

}  // namespace store_rules
}  // namespace keyward
