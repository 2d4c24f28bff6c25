#include "core/webhook_events.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/random.h"
#include "core/time_format.h"

namespace keyward {

using json = nlohmann::json;

bool IsWebhookEventType(std::string_view type) {
  return std::find(kWebhookEventTypes.begin(), kWebhookEventTypes.end(), type) !=
         kWebhookEventTypes.end();
}

WebhookEvent MakeWebhookEvent(std::string type, std::string workspace_id, Timestamp at,
                              const std::string& data_json, std::string dedupe_key,
                              std::string id) {
  WebhookEvent e;
  e.id = id.empty() ? NewId("msg") : std::move(id);
  e.type = std::move(type);
  e.workspace_id = std::move(workspace_id);
  e.created_at = at;
  e.dedupe_key = std::move(dedupe_key);
  json data = json::parse(data_json, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object()) data = json::object();
  if (auto env = data.find("environment"); env != data.end() && env->is_string()) {
    e.environment = env->get<std::string>();
  }
  // Key order is fixed (nlohmann sorts object keys), so the same event
  // always has the same bytes.
  e.payload =
      json{{"type", e.type}, {"timestamp", FormatRfc3339(at)}, {"data", std::move(data)}}.dump();
  return e;
}

namespace {

// Copies the fields of details named in keys into data, where present.
void CopyFields(const json& details, std::initializer_list<const char*> keys, json* data) {
  for (const char* k : keys) {
    auto it = details.find(k);
    if (it != details.end()) (*data)[k] = *it;
  }
}

}  // namespace

std::vector<WebhookEvent> EventsForAudit(const AuditEntry& entry) {
  const std::string_view action = entry.action;
  const json details = json::parse(entry.details_json, nullptr, /*allow_exceptions=*/false);
  const json d = details.is_object() ? details : json::object();
  std::vector<WebhookEvent> out;
  // "evt_<random>" gives "msg_<random>", then "msg_<random>n2" for a second
  // event of the same change (a leak's revocation).
  const std::string base =
      entry.id.rfind("evt_", 0) == 0 && entry.id.size() > 4 ? entry.id.substr(4) : RandomBase62(20);
  auto raise = [&](const char* type, const json& data) {
    std::string id = "msg_" + base;
    if (!out.empty()) id += "n" + std::to_string(out.size() + 1);
    out.push_back(
        MakeWebhookEvent(type, entry.workspace_id, entry.at, data.dump(), "", std::move(id)));
  };
  json key = {
      {"key_id", entry.target}, {"workspace_id", entry.workspace_id}, {"actor", entry.actor}};
  if (action == "key.create") {
    CopyFields(d, {"short_prefix", "environment", "name", "scopes"}, &key);
    raise("api_key.created", key);
  } else if (action == "key.update") {
    CopyFields(d, {"short_prefix", "environment"}, &key);
    json changed = json::array();
    for (auto it = d.begin(); it != d.end(); ++it) {
      if (it.key() != "short_prefix" && it.key() != "environment") changed.push_back(it.key());
    }
    key["changed"] = changed;
    if (d.contains("enabled")) key["enabled"] = d["enabled"];
    raise("api_key.updated", key);
  } else if (action == "key.rotate") {
    if (d.contains("old_short_prefix")) key["short_prefix"] = d["old_short_prefix"];
    CopyFields(d, {"environment", "new_key_id", "new_short_prefix", "grace_seconds"}, &key);
    raise("api_key.rotated", key);
  } else if (action == "key.revoke") {
    CopyFields(d, {"short_prefix", "environment", "reason"}, &key);
    raise("api_key.revoked", key);
    if (d.contains("leak")) {
      json leaked = key;
      leaked.erase("reason");
      leaked["action"] = "revoked";
      if (d["leak"].is_object()) CopyFields(d["leak"], {"source", "url"}, &leaked);
      raise("api_key.leaked", leaked);
    }
  } else if (action == "key.leak_report") {
    CopyFields(d, {"short_prefix", "environment", "source", "url", "action"}, &key);
    raise("api_key.leaked", key);
  } else if (action == "workspace.credits_low" || action == "workspace.credits_exhausted") {
    json data = {{"workspace_id", entry.workspace_id}};
    CopyFields(d, {"environment", "balance", "period_start", "limit", "spent", "threshold"}, &data);
    raise(
        action == "workspace.credits_low" ? "workspace.credits_low" : "workspace.credits_exhausted",
        data);
  } else if (action == "webhook_endpoint.disable") {
    json data = {{"endpoint_id", entry.target}, {"workspace_id", entry.workspace_id}};
    CopyFields(d, {"reason", "host", "delivery_id", "response_status"}, &data);
    raise("webhook_endpoint.disabled", data);
  }
  return out;
}

bool WebhookEndpoint::Wants(std::string_view type) const {
  return events.empty() || std::find(events.begin(), events.end(), type) != events.end();
}

std::string_view DeliveryStatusName(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending:
      return "pending";
    case DeliveryStatus::kDelivered:
      return "delivered";
    case DeliveryStatus::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<DeliveryStatus> DeliveryStatusFromName(std::string_view name) {
  if (name == "pending") return DeliveryStatus::kPending;
  if (name == "delivered") return DeliveryStatus::kDelivered;
  if (name == "failed") return DeliveryStatus::kFailed;
  return std::nullopt;
}

std::optional<Timestamp> RetryDelayAfter(int failed_attempts) {
  static constexpr Timestamp kS = kMillisPerSecond, kMin = 60 * kS, kH = 60 * kMin;
  static constexpr std::array<Timestamp, kMaxDeliveryAttempts - 1> kDelays = {
      5 * kS, 5 * kMin, 30 * kMin, 2 * kH, 5 * kH, 10 * kH, 14 * kH, 20 * kH, 24 * kH};
  if (failed_attempts < 1 || failed_attempts > static_cast<int>(kDelays.size())) {
    return std::nullopt;
  }
  return kDelays[static_cast<size_t>(failed_attempts - 1)];
}

}  // namespace keyward
