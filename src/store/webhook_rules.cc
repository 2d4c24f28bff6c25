#include "store/webhook_rules.h"

#include <nlohmann/json.hpp>

#include "core/time_format.h"

namespace keyward {
namespace store_rules {

namespace {
constexpr Timestamp kDay = 86'400'000;

// The columns every lifecycle query selects; dedupe is its key expression,
// days the number of days the event is about.
std::string LifecycleSelect(const std::string& dedupe, const std::string& where, int limit,
                            const std::string& days = "0", const std::string& from = "api_keys k") {
  // A range of seq, read in seq order: the table's own order on both
  // engines. (In id order SQLite read the whole table through its id index,
  // a row lookup each: 1.4 s a query at 300,000 keys, against 0.07 s.)
  return "SELECT k.id, k.workspace_id, k.short_prefix, k.environment, k.expires_at, "
         "k.last_used_at, k.created_at, " +
         dedupe + ", " + days + " FROM " + from + " WHERE k.revoked_at IS NULL AND " + where +
         " AND k.seq > ? AND k.seq <= ? AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE "
         "e.dedupe_key = " +
         dedupe + ") ORDER BY k.seq LIMIT " + std::to_string(limit);
}
}  // namespace

std::vector<std::string> SigningSecrets(const WebhookEndpoint& ep, Timestamp now) {
  std::vector<std::string> out{ep.secret};
  if (!ep.previous_secret.empty() && ep.previous_secret_expires_at &&
      *ep.previous_secret_expires_at > now) {
    out.push_back(ep.previous_secret);
  }
  return out;
}

bool FansOutTo(const WebhookEndpoint& ep, const WebhookEvent& event) {
  if (!ep.enabled || ep.created_at > event.created_at) return false;
  if (!ep.workspace_id.empty() && ep.workspace_id != event.workspace_id) return false;
  if (!ep.environment.empty() && !event.environment.empty() &&
      ep.environment != event.environment) {
    return false;
  }
  return ep.Wants(event.type);
}

Status TooManyEndpoints(const std::string& workspace_id, int max_per_owner) {
  return Status::Conflict(
      (workspace_id.empty() ? std::string("the operator") : "workspace " + workspace_id) +
      " already has " + std::to_string(max_per_owner) +
      " webhook endpoints, the most it may have; delete one first");
}

namespace {
// The queries, their range's two params not yet bound.
std::vector<LifecycleQuery> QueriesWithoutRange(const LifecycleRules& rules, Timestamp now,
                                                int limit) {
  std::vector<LifecycleQuery> out;
  // api_key.expiring: a key expiring within a window and not within the
  // next smaller one raises that window's event (a key made to expire in
  // two days raises the 7-day one, then the 1-day one).
  std::vector<int> windows = rules.expiring_days;
  std::sort(windows.begin(), windows.end());
  for (size_t i = 0; i < windows.size(); ++i) {
    if (windows[i] <= 0) continue;
    const int inner = i == 0 ? 0 : windows[i - 1];
    LifecycleQuery q;
    q.type = "api_key.expiring";
    q.days = windows[i];
    const std::string dedupe =
        "'api_key.expiring:" + std::to_string(windows[i]) + ":' || k.id || ':' || k.expires_at";
    q.sql = LifecycleSelect(dedupe, "k.expires_at > ? AND k.expires_at <= ?", limit,
                            std::to_string(windows[i]));
    q.params = {now + inner * kDay, now + windows[i] * kDay};
    out.push_back(std::move(q));
  }
  if (rules.expired_lookback_days > 0) {
    LifecycleQuery q;
    q.type = "api_key.expired";
    q.sql = LifecycleSelect("'api_key.expired:' || k.id || ':' || k.expires_at",
                            "k.expires_at <= ? AND k.expires_at > ?", limit);
    q.params = {now, now - rules.expired_lookback_days * kDay};
    out.push_back(std::move(q));
  }
  if (rules.unused_days > 0) {
    LifecycleQuery q;
    q.type = "api_key.unused";
    q.days = rules.unused_days;
    // Once per stretch of disuse: a key used again and then left again
    // raises it again.
    q.sql = LifecycleSelect("'api_key.unused:' || k.id || ':' || COALESCE(k.last_used_at, 0)",
                            "(k.expires_at IS NULL OR k.expires_at > ?) AND "
                            "COALESCE(k.last_used_at, k.created_at) <= ?",
                            limit, std::to_string(rules.unused_days));
    q.params = {now, now - rules.unused_days * kDay};
    out.push_back(std::move(q));
  }
  {
    // The workspace's own policy wins over the deployment's; with neither
    // (0 or NULL) the key is never due.
    LifecycleQuery q;
    q.type = "api_key.rotation_due";
    const std::string days = "COALESCE(w.rotate_after_days, ?)";
    q.sql = LifecycleSelect("'api_key.rotation_due:' || k.id",
                            "(k.expires_at IS NULL OR k.expires_at > ?) AND " + days +
                                " > 0 AND k.created_at <= ? - "
                                "CAST(" +
                                days + " AS BIGINT) * 86400000",
                            limit, days, "api_keys k JOIN workspaces w ON w.id = k.workspace_id");
    const int64_t d = rules.rotate_after_days;
    q.params = {d, now, d, now, d};
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace

std::vector<LifecycleQuery> LifecycleQueries(const LifecycleRules& rules, Timestamp now, int limit,
                                             int64_t after_seq, int64_t last_seq) {
  std::vector<LifecycleQuery> out = QueriesWithoutRange(rules, now, limit);
  for (LifecycleQuery& q : out) {
    q.params.push_back(after_seq);
    q.params.push_back(last_seq);
  }
  return out;
}

WebhookEvent MakeLifecycleEvent(const LifecycleQuery& q, Timestamp now, const std::string& key_id,
                                const std::string& workspace_id, const std::string& short_prefix,
                                const std::string& environment, std::optional<Timestamp> expires_at,
                                std::optional<Timestamp> last_used_at, Timestamp created_at,
                                std::string dedupe_key, int64_t days) {
  nlohmann::json data = {{"key_id", key_id},
                         {"workspace_id", workspace_id},
                         {"short_prefix", short_prefix},
                         {"environment", environment}};
  if (expires_at) data["expires_at"] = FormatRfc3339(*expires_at);
  if (q.type == "api_key.expiring") data["within_days"] = days;
  if (q.type == "api_key.unused") {
    data["unused_days"] = days;
    data["last_used_at"] = last_used_at ? nlohmann::json(FormatRfc3339(*last_used_at)) : nullptr;
  }
  if (q.type == "api_key.rotation_due") {
    data["rotate_after_days"] = days;
    data["created_at"] = FormatRfc3339(created_at);
  }
  return MakeWebhookEvent(q.type, workspace_id, now, data.dump(), std::move(dedupe_key));
}

}  // namespace store_rules
}  // namespace keyward
