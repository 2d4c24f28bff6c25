// Webhooks as core sees them: the events keyward tells operators and their
// customers about, the endpoints that receive them, and the deliveries that
// carry one event to one endpoint. Which changes raise which events is
// decided here, in one place (EventsForAudit): a store writes the events of
// an audit entry in the transaction that writes the entry, so an event is
// never lost to a crash and never sent for a change that did not commit.
// Sending them is src/webhooks/'s job.
// Thread-safe: plain values and pure functions.
#ifndef KEYWARD_CORE_WEBHOOK_EVENTS_H_
#define KEYWARD_CORE_WEBHOOK_EVENTS_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/model.h"

namespace keyward {

// Every event type, in the order the documentation lists them.
inline constexpr std::array<std::string_view, 13> kWebhookEventTypes = {
    "api_key.created",          "api_key.updated",
    "api_key.rotated",          "api_key.revoked",
    "api_key.expiring",         "api_key.expired",
    "api_key.unused",           "api_key.rotation_due",
    "api_key.leaked",           "workspace.key_limit_reached",
    "workspace.credits_low",    "workspace.credits_exhausted",
    "webhook_endpoint.disabled"};

bool IsWebhookEventType(std::string_view type);

// One event of the outbox. payload is the exact body every delivery of it
// sends, {"type", "timestamp", "data"}, fixed when the event is made so that
// a retry sends (and signs) the same bytes.
struct WebhookEvent {
  std::string id;            // "msg_…": the webhook-id of each delivery
  std::string type;          // one of kWebhookEventTypes
  std::string workspace_id;  // empty: deployment-wide (operator endpoints only)
  // The environment of the key it is about (data.environment); empty for
  // an event about no one environment.
  std::string environment;
  Timestamp created_at = 0;
  std::string payload;
  // Set for events a scheduler raises: the store keeps at most one event per
  // dedupe key, so each is raised once per key and cause.
  std::string dedupe_key;
};

// An event with its payload built from data (a JSON object of ids and
// short prefixes, never a secret), and id (a fresh one when empty).
WebhookEvent MakeWebhookEvent(std::string type, std::string workspace_id, Timestamp at,
                              const std::string& data_json, std::string dedupe_key = "",
                              std::string id = "");

// The events a change raises, made from its audit entry (same time, same
// workspace). Their ids come from the entry's, so the same entry always
// makes the same events, byte for byte. Empty for changes no event
// reports.
std::vector<WebhookEvent> EventsForAudit(const AuditEntry& entry);

// A receiver of events. Owned by the operator (workspace_id empty: events of
// every workspace and the deployment's own) or by one workspace (its events
// only).
struct WebhookEndpoint {
  std::string id;  // "we_…"
  std::string workspace_id;
  // Only events of this environment (and those of none); empty: all. A
  // managing key's endpoints are of its own environment, so that a test
  // key never hears of live keys.
  std::string environment;
  std::string url;
  std::vector<std::string> events;  // empty: every type
  std::string description;
  bool enabled = true;
  // Why keyward disabled it ("gone": the receiver answered 410;
  // "failing": every retry of a delivery failed). Empty when enabled, or
  // when a person disabled it.
  std::string disabled_reason;
  // "whsec_" + base64 of 32 random bytes. While previous_secret_expires_at
  // is in the future, deliveries are signed with both.
  std::string secret;
  std::string previous_secret;
  std::optional<Timestamp> previous_secret_expires_at;
  Timestamp created_at = 0;
  Timestamp updated_at = 0;
  // Bumped by every change; an update names the version it was made from.
  int64_t version = 0;

  bool Wants(std::string_view type) const;
};

enum class DeliveryStatus { kPending, kDelivered, kFailed };
std::string_view DeliveryStatusName(DeliveryStatus s);
std::optional<DeliveryStatus> DeliveryStatusFromName(std::string_view name);

// One event on its way to one endpoint.
struct WebhookDelivery {
  std::string id;  // "whd_…"
  std::string endpoint_id;
  std::string event_id;
  std::string event_type;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;
  Timestamp next_attempt_at = 0;  // pending: when the next attempt is due
  std::optional<Timestamp> last_attempt_at;
  std::optional<int> response_status;  // of the last attempt that got an answer
  std::optional<int64_t> latency_ms;   // of the last attempt
  std::string error;                   // of the last failed attempt: "timeout", "connect: …"
  // A retry asked for by a person: one attempt, and its failure disables
  // nothing.
  bool manual = false;
  Timestamp created_at = 0;
};

// A delivery a worker has claimed, with what it needs to send it.
struct ClaimedDelivery {
  WebhookDelivery delivery;
  std::string claim_id;  // proves the claim when the outcome is written
  std::string url;
  std::string payload;
  Timestamp event_created_at = 0;
  std::vector<std::string> secrets;  // the current secret, then the previous one in its overlap
};

// What became of one attempt (KeyStore::FinishWebhookDelivery).
struct DeliveryOutcome {
  std::string delivery_id;
  std::string claim_id;
  Timestamp attempted_at = 0;
  DeliveryStatus status = DeliveryStatus::kPending;  // pending: retry at next_attempt_at
  Timestamp next_attempt_at = 0;
  std::optional<int> response_status;
  int64_t latency_ms = 0;
  std::string error;
  // Set when the endpoint is to be disabled with this outcome ("gone",
  // "failing"); the audit entry records it and raises
  // webhook_endpoint.disabled.
  std::string disable_reason;
  std::optional<AuditEntry> disable_audit;
};

// The Standard Webhooks retry schedule: attempt 1 goes at once, and after
// n failed attempts the next follows by RetryDelayAfter(n): 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. nullopt once all 10 attempts
// have failed.
std::optional<Timestamp> RetryDelayAfter(int failed_attempts);
inline constexpr int kMaxDeliveryAttempts = 10;

// The time-based events (KeyStore::RaiseLifecycleEvents).
struct LifecycleRules {
  // api_key.expiring, once per window a key enters before its expires_at.
  std::vector<int> expiring_days = {7, 1};
  // api_key.expired for keys that expired within this many days (older
  // ones are history, not news).
  int expired_lookback_days = 7;
  // api_key.unused when a key has not been used (or, never used, was made)
  // this many days ago; 0: off.
  int unused_days = 0;
  // api_key.rotation_due when a key is older than this ([keys]
  // rotate_after_days); a workspace's own rotate_after_days wins; 0 and no
  // workspace value: never.
  int rotate_after_days = 0;
  // Keys are read this many seq at a time, each range in a transaction of
  // its own, so that a million keys never hold the writer for the whole
  // scan. Smaller in tests.
  int64_t keys_per_range = 50'000;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_WEBHOOK_EVENTS_H_
