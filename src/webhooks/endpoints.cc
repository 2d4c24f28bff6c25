#include "webhooks/endpoints.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/random.h"
#include "webhooks/signing.h"
#include "webhooks/target_guard.h"

namespace keyward {

using json = nlohmann::json;

namespace {

Status ValidateDescription(std::string_view d) {
  if (d.size() > 500) return Status::InvalidRequest("description must be at most 500 bytes");
  for (unsigned char c : d) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidRequest("description must have no control characters");
    }
  }
  return Status::Ok();
}

std::string HostOf(const std::string& url) {
  auto u = ParseWebhookUrl(url);
  return u.ok() ? u->host : std::string();
}

// Runs attempt until it was not made from a stale read.
template <typename Attempt>
auto UntilFresh(std::string_view id, Attempt attempt) -> decltype(attempt(nullptr)) {
  for (int n = 1;; ++n) {
    bool stale = false;
    auto result = attempt(&stale);
    if (!stale) return result;
    if (n == 16) {
      return Status::Conflict("webhook endpoint " + std::string(id) +
                              " keeps changing under this change; try again");
    }
  }
}

}  // namespace

Status ValidateWebhookEvents(const std::vector<std::string>& events) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (!IsWebhookEventType(events[i])) {
      std::string known;
      for (auto t : kWebhookEventTypes) known += (known.empty() ? "" : ", ") + std::string(t);
      return Status::InvalidRequest("events[" + std::to_string(i) +
                                    "] is not an event type; one of: " + known);
    }
    if (std::find(events.begin(), events.begin() + static_cast<long>(i), events[i]) !=
        events.begin() + static_cast<long>(i)) {
      return Status::InvalidRequest("events lists " + events[i] + " twice");
    }
  }
  return Status::Ok();
}

Status WebhookEndpoints::CheckUrl(const std::string& url) const {
  auto parsed = ParseWebhookUrl(url);
  if (!parsed.ok()) return parsed.status();
  auto addresses = ResolveWebhookTarget(*parsed, options_.allow_private_targets);
  if (!addresses.ok()) {
    // A name that does not resolve is the caller's to fix, not a fault here.
    return Status::InvalidRequest(addresses.status().message());
  }
  return Status::Ok();
}

Result<WebhookEndpoint> WebhookEndpoints::Create(NewWebhookEndpoint p, const Actor& actor) {
  KEYWARD_RETURN_IF_ERROR(CheckUrl(p.url));
  KEYWARD_RETURN_IF_ERROR(ValidateWebhookEvents(p.events));
  KEYWARD_RETURN_IF_ERROR(ValidateDescription(p.description));
  const Timestamp now = options_.clock->Now();
  WebhookEndpoint ep;
  ep.id = NewId("we");
  ep.workspace_id = std::move(p.workspace_id);
  ep.environment = std::move(p.environment);
  ep.url = std::move(p.url);
  ep.events = std::move(p.events);
  ep.description = std::move(p.description);
  ep.enabled = p.enabled;
  ep.secret = NewWebhookSecret();
  ep.created_at = now;
  ep.updated_at = now;
  const json details = {{"host", HostOf(ep.url)},
                        {"events", ep.events},
                        {"enabled", ep.enabled},
                        {"environment", ep.environment}};
  KEYWARD_RETURN_IF_ERROR(options_.store->InsertWebhookEndpoint(
      ep, options_.max_per_owner,
      MakeAuditEntry(actor, now, "webhook_endpoint.create", ep.id, ep.workspace_id,
                     details.dump())));
  return ep;
}

Result<WebhookEndpoint> WebhookEndpoints::Get(std::string_view id) {
  return options_.store->GetWebhookEndpoint(id);
}

Result<std::vector<WebhookEndpoint>> WebhookEndpoints::List(
    const std::optional<std::string>& workspace_id) {
  return options_.store->ListWebhookEndpoints(workspace_id);
}

Result<WebhookEndpoint> WebhookEndpoints::Update(std::string_view id,
                                                 const WebhookEndpointUpdate& u,
                                                 const Actor& actor) {
  if (u.url) KEYWARD_RETURN_IF_ERROR(CheckUrl(*u.url));
  if (u.events) KEYWARD_RETURN_IF_ERROR(ValidateWebhookEvents(*u.events));
  if (u.description) KEYWARD_RETURN_IF_ERROR(ValidateDescription(*u.description));
  return UntilFresh(id, [&](bool* stale) { return UpdateOnce(id, u, actor, stale); });
}

Result<WebhookEndpoint> WebhookEndpoints::UpdateOnce(std::string_view id,
                                                     const WebhookEndpointUpdate& u,
                                                     const Actor& actor, bool* stale) {
  auto ep = options_.store->GetWebhookEndpoint(id);
  if (!ep.ok()) return ep;
  json changed = json::object();
  if (u.url) {
    ep->url = *u.url;
    changed["host"] = HostOf(ep->url);
  }
  if (u.events) {
    ep->events = *u.events;
    changed["events"] = ep->events;
  }
  if (u.description) {
    ep->description = *u.description;
    changed["description"] = true;
  }
  if (u.enabled) {
    ep->enabled = *u.enabled;
    ep->disabled_reason.clear();
    changed["enabled"] = ep->enabled;
  }
  ep->updated_at = options_.clock->Now();
  KEYWARD_RETURN_IF_ERROR(options_.store->UpdateWebhookEndpoint(
      *ep,
      MakeAuditEntry(actor, ep->updated_at, "webhook_endpoint.update", ep->id, ep->workspace_id,
                     changed.dump()),
      stale));
  ++ep->version;
  return ep;
}

Status WebhookEndpoints::Delete(std::string_view id, const Actor& actor) {
  auto ep = options_.store->GetWebhookEndpoint(id);
  if (!ep.ok()) return ep.status();
  const json details = {{"host", HostOf(ep->url)}};
  return options_.store->DeleteWebhookEndpoint(
      id, MakeAuditEntry(actor, options_.clock->Now(), "webhook_endpoint.delete", ep->id,
                         ep->workspace_id, details.dump()));
}

Result<WebhookEndpoint> WebhookEndpoints::RollSecret(std::string_view id, int64_t overlap_seconds,
                                                     const Actor& actor) {
  if (overlap_seconds < 0 || overlap_seconds > kMaxRollOverlapSeconds) {
    return Status::InvalidRequest("overlap_seconds must be between 0 and " +
                                  std::to_string(kMaxRollOverlapSeconds) + " (7 days)");
  }
  return UntilFresh(id, [&](bool* stale) { return RollOnce(id, overlap_seconds, actor, stale); });
}

Result<WebhookEndpoint> WebhookEndpoints::RollOnce(std::string_view id, int64_t overlap_seconds,
                                                   const Actor& actor, bool* stale) {
  auto ep = options_.store->GetWebhookEndpoint(id);
  if (!ep.ok()) return ep;
  const Timestamp now = options_.clock->Now();
  if (overlap_seconds > 0) {
    ep->previous_secret = ep->secret;
    ep->previous_secret_expires_at = now + overlap_seconds * kMillisPerSecond;
  } else {
    ep->previous_secret.clear();
    ep->previous_secret_expires_at.reset();
  }
  ep->secret = NewWebhookSecret();
  ep->updated_at = now;
  const json details = {{"overlap_seconds", overlap_seconds}};
  KEYWARD_RETURN_IF_ERROR(options_.store->UpdateWebhookEndpoint(
      *ep,
      MakeAuditEntry(actor, now, "webhook_endpoint.roll_secret", ep->id, ep->workspace_id,
                     details.dump()),
      stale));
  ++ep->version;
  return ep;
}

Result<Page<WebhookDelivery>> WebhookEndpoints::ListDeliveries(std::string_view endpoint_id,
                                                               const PageRequest& page) {
  return options_.store->ListWebhookDeliveries(endpoint_id, page);
}

Result<WebhookDelivery> WebhookEndpoints::RetryDelivery(std::string_view endpoint_id,
                                                        std::string_view delivery_id,
                                                        const Actor& actor) {
  auto d = options_.store->GetWebhookDelivery(delivery_id);
  if (!d.ok()) return d;
  if (d->endpoint_id != endpoint_id) {
    return Status::NotFound("no webhook delivery " + std::string(delivery_id) + " of endpoint " +
                            std::string(endpoint_id));
  }
  auto ep = options_.store->GetWebhookEndpoint(endpoint_id);
  if (!ep.ok()) return ep.status();
  if (!ep->enabled) {
    return Status::Conflict("webhook endpoint " + ep->id +
                            " is disabled; enable it before sending deliveries to it again");
  }
  const Timestamp now = options_.clock->Now();
  const json details = {{"delivery_id", d->id}, {"event_id", d->event_id}};
  KEYWARD_RETURN_IF_ERROR(options_.store->RetryWebhookDelivery(
      delivery_id, now,
      MakeAuditEntry(actor, now, "webhook_delivery.retry", ep->id, ep->workspace_id,
                     details.dump())));
  return options_.store->GetWebhookDelivery(delivery_id);
}

}  // namespace keyward
