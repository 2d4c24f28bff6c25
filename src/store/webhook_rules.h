// What every storage engine decides the same way about webhooks: the
// columns of the endpoint and delivery tables and how a row becomes a model
// object, which endpoints an event fans out to, the outcome a claim leads
// to, and the SQL of the time-based events (written with `?` placeholders;
// an engine with numbered ones renumbers them), so that SQLite and
// PostgreSQL raise the same events with the same dedupe keys.
//
// Internal to store/: engines include it, nothing above them does.
// Thread-safe: pure functions.
#ifndef KEYWARD_STORE_WEBHOOK_RULES_H_
#define KEYWARD_STORE_WEBHOOK_RULES_H_

#include <string>
#include <vector>

#include "core/webhook_events.h"
#include "store/rules.h"

namespace keyward {
namespace store_rules {

inline constexpr const char* kEndpointColumns =
    "id, workspace_id, url, events, description, enabled, disabled_reason, secret, "
    "previous_secret, previous_secret_expires_at, created_at, updated_at, version, environment";

// kEndpointColumns' values, workspace_id NULL for the operator's.
template <typename Binder>
void BindEndpoint(Binder& s, const WebhookEndpoint& ep) {
  s.Bind(ep.id).BindNullableText(ep.workspace_id).Bind(ep.url).Bind(ToJsonArray(ep.events));
  s.Bind(ep.description).Bind(int64_t{ep.enabled ? 1 : 0}).Bind(ep.disabled_reason);
  s.Bind(ep.secret).Bind(ep.previous_secret).Bind(ep.previous_secret_expires_at);
  s.Bind(ep.created_at).Bind(ep.updated_at).Bind(ep.version).Bind(ep.environment);
}

// What an update writes, in this order (the caller binds id and the version
// it was made from after them).
inline constexpr const char* kEndpointUpdateSet =
    "url = ?, events = ?, description = ?, enabled = ?, disabled_reason = ?, secret = ?, "
    "previous_secret = ?, previous_secret_expires_at = ?, updated_at = ?, version = version + 1";
template <typename Binder>
void BindEndpointUpdate(Binder& s, const WebhookEndpoint& ep) {
  s.Bind(ep.url).Bind(ToJsonArray(ep.events)).Bind(ep.description);
  s.Bind(int64_t{ep.enabled ? 1 : 0}).Bind(ep.disabled_reason).Bind(ep.secret);
  s.Bind(ep.previous_secret).Bind(ep.previous_secret_expires_at).Bind(ep.updated_at);
}

template <typename Row>
WebhookEndpoint EndpointFromRow(const Row& s) {
  WebhookEndpoint ep;
  ep.id = s.Text(0);
  ep.workspace_id = s.Text(1);
  ep.url = s.Text(2);
  ep.events = FromJsonArray(s.Text(3));
  ep.description = s.Text(4);
  ep.enabled = s.Int(5) != 0;
  ep.disabled_reason = s.Text(6);
  ep.secret = s.Text(7);
  ep.previous_secret = s.Text(8);
  ep.previous_secret_expires_at = s.OptInt(9);
  ep.created_at = s.Int(10);
  ep.updated_at = s.Int(11);
  ep.version = s.Int(12);
  ep.environment = s.Text(13);
  return ep;
}

// A delivery with its event's id and type: FROM webhook_deliveries d JOIN
// webhook_events e ON e.seq = d.event_seq.
inline constexpr const char* kDeliveryColumns =
    "d.id, d.endpoint_id, e.id, e.type, d.status, d.attempts, d.next_attempt_at, "
    "d.last_attempt_at, d.response_status, d.latency_ms, d.error, d.manual, d.created_at";
inline constexpr int kDeliveryColumnCount = 13;
inline constexpr const char* kDeliveryFrom =
    " FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq";

template <typename Row>
WebhookDelivery DeliveryFromRow(const Row& s) {
  WebhookDelivery d;
  d.id = s.Text(0);
  d.endpoint_id = s.Text(1);
  d.event_id = s.Text(2);
  d.event_type = s.Text(3);
  d.status = DeliveryStatusFromName(s.Text(4)).value_or(DeliveryStatus::kPending);
  d.attempts = static_cast<int>(s.Int(5));
  d.next_attempt_at = s.Int(6);
  d.last_attempt_at = s.OptInt(7);
  if (auto code = s.OptInt(8)) d.response_status = static_cast<int>(*code);
  d.latency_ms = s.OptInt(9);
  d.error = s.Text(10);
  d.manual = s.Int(11) != 0;
  d.created_at = s.Int(12);
  return d;
}

// The signing secrets of an endpoint at now: its own, then the previous
// one while its overlap lasts.
std::vector<std::string> SigningSecrets(const WebhookEndpoint& ep, Timestamp now);

// Whether an event fans out to ep: ep enabled, made no later than the
// event, of the operator or of the event's workspace, of the event's
// environment (when both have one), and wanting its type.
bool FansOutTo(const WebhookEndpoint& ep, const WebhookEvent& event);

// A stored event, as fanning out reads it: seq, id, type, workspace_id,
// created_at, environment.
inline constexpr const char* kFanOutEventColumns =
    "seq, id, type, workspace_id, created_at, environment";

// The events PruneWebhooks may drop once nothing is pending for them,
// followed by their created_at: fanned out, and either raised by a change
// or of a cause that cannot come back once its window has passed (a key's
// expiry). The dedupe keys of api_key.unused and api_key.rotation_due stay,
// one per key at most, or those events would be raised again.
inline constexpr const char* kPrunableEvents =
    "fanned_out = 1 AND (dedupe_key IS NULL OR type IN ('api_key.expiring', "
    "'api_key.expired')) AND created_at";

// The error a store answers when an owner has its fill of endpoints.
Status TooManyEndpoints(const std::string& workspace_id, int max_per_owner);

// One query of RaiseLifecycleEvents: its SQL selects, for each key due an
// event of type, id, workspace_id, short_prefix, environment, expires_at,
// last_used_at, created_at, the event's dedupe key and the days it is about
// (a window, a threshold, the rotation policy in force), leaving out keys
// whose event is stored already; params bind its `?`s in order.
struct LifecycleQuery {
  std::string type;
  std::string sql;
  std::vector<int64_t> params;
  int days = 0;  // the window or threshold, for the event's data
};
// The queries of the keys whose seq is in (after_seq, last_seq], at most
// limit rows each.
std::vector<LifecycleQuery> LifecycleQueries(const LifecycleRules& rules, Timestamp now, int limit,
                                             int64_t after_seq, int64_t last_seq);

template <typename Row>
WebhookEvent LifecycleEventFromRow(const LifecycleQuery& q, const Row& s, Timestamp now);

// The event of one row of a LifecycleQuery (columns as it says).
WebhookEvent MakeLifecycleEvent(const LifecycleQuery& q, Timestamp now, const std::string& key_id,
                                const std::string& workspace_id, const std::string& short_prefix,
                                const std::string& environment, std::optional<Timestamp> expires_at,
                                std::optional<Timestamp> last_used_at, Timestamp created_at,
                                std::string dedupe_key, int64_t days);

template <typename Row>
WebhookEvent LifecycleEventFromRow(const LifecycleQuery& q, const Row& s, Timestamp now) {
  return MakeLifecycleEvent(q, now, s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.OptInt(4),
                            s.OptInt(5), s.Int(6), s.Text(7), s.Int(8));
}

}  // namespace store_rules
}  // namespace keyward

#endif  // KEYWARD_STORE_WEBHOOK_RULES_H_
