// Webhook endpoints and their deliveries. A root key manages the
// operator's endpoints (every workspace's events) and any workspace's; a
// managing (keys:manage) key only its own workspace's, and sees no other
// (404, never a hint that one exists). The signing secret is answered by
// create and roll-secret only.
// Thread-safe: handlers run on any serving thread at once.
#include "core/time_format.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/routes/routes.h"
#include "webhooks/endpoints.h"

namespace keyward {
namespace {

Json EndpointJson(const WebhookEndpoint& ep) {
  Json j = {
      {"id", ep.id},
      {"object", "webhook_endpoint"},
      {"workspace_id", ep.workspace_id.empty() ? Json(nullptr) : Json(ep.workspace_id)},
      {"url", ep.url},
      {"events", ep.events},
      {"description", ep.description},
      {"enabled", ep.enabled},
      {"disabled_reason", ep.disabled_reason.empty() ? Json(nullptr) : Json(ep.disabled_reason)},
      {"previous_secret_expires_at", TimeOrNull(ep.previous_secret_expires_at)},
      {"created_at", FormatRfc3339(ep.created_at)},
      {"updated_at", FormatRfc3339(ep.updated_at)}};
  return j;
}

Json DeliveryJson(const WebhookDelivery& d) {
  return {{"id", d.id},
          {"object", "webhook_delivery"},
          {"endpoint_id", d.endpoint_id},
          {"event_id", d.event_id},
          {"event_type", d.event_type},
          {"status", std::string(DeliveryStatusName(d.status))},
          {"attempts", d.attempts},
          {"next_attempt_at", d.status == DeliveryStatus::kPending
                                  ? Json(FormatRfc3339(d.next_attempt_at))
                                  : Json(nullptr)},
          {"last_attempt_at", TimeOrNull(d.last_attempt_at)},
          {"response_status", d.response_status ? Json(*d.response_status) : Json(nullptr)},
          {"latency_ms", d.latency_ms ? Json(*d.latency_ms) : Json(nullptr)},
          {"error", d.error.empty() ? Json(nullptr) : Json(d.error)},
          {"manual", d.manual},
          {"created_at", FormatRfc3339(d.created_at)}};
}

WebhookEndpoints& Endpoints(const RouteContext& ctx) { return *ctx.options->webhooks; }

// Answers 503 when this program was built without webhooks (a test's API).
bool HaveWebhooks(Call& call, const RouteContext& ctx) {
  if (ctx.options->webhooks != nullptr) return true;
  call.Error(Code::kUnavailable, "webhooks are not available in this program");
  return false;
}

// The endpoint, when the caller may manage it; answers 404 otherwise.
std::optional<WebhookEndpoint> LoadEndpoint(Call& call, const RouteContext& ctx,
                                            std::string_view id) {
  auto ep = Endpoints(ctx).Get(id);
  if (!ep.ok()) {
    call.Fail(ep.status());
    return std::nullopt;
  }
  // A managing key sees its own workspace's endpoints of its own
  // environment, nothing else.
  if (!call.who.root && (ep->workspace_id.empty() || ep->workspace_id != call.who.workspace_id ||
                         ep->environment != call.who.environment)) {
    call.Error(Code::kNotFound, "no webhook endpoint " + std::string(id));
    return std::nullopt;
  }
  return *ep;
}

void CreateEndpoint(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  FieldReader f(*body);
  NewWebhookEndpoint p;
  std::optional<std::string> workspace_id, description, environment;
  std::optional<std::vector<std::string>> events;
  std::optional<bool> enabled;
  if (!call.Check(f.OnlyFields(
          {"url", "events", "description", "enabled", "workspace_id", "environment"})) ||
      !call.Check(f.String("environment", &environment)) ||
      !call.Check(f.RequiredString("url", &p.url)) ||
      !call.Check(f.StringList("events", &events)) ||
      !call.Check(f.String("description", &description)) ||
      !call.Check(f.Bool("enabled", &enabled)) ||
      !call.Check(f.String("workspace_id", &workspace_id))) {
    return;
  }
  if (!call.who.root) {
    // A managing key's endpoints are its workspace's, whatever it asks.
    if (workspace_id && *workspace_id != call.who.workspace_id) {
      return call.Error(Code::kNotFound, "no such workspace");
    }
    workspace_id = call.who.workspace_id;
    if (environment && *environment != call.who.environment) {
      return call.Error(Code::kNotFound, "no such environment");
    }
    environment = call.who.environment;
  } else if (workspace_id && workspace_id->empty()) {
    return call.Error(Code::kInvalidRequest,
                      "workspace_id must name a workspace; leave it out for the operator's");
  }
  if (environment && !environment->empty() && !ctx.service->format().HasEnvironment(*environment)) {
    return call.Error(Code::kInvalidRequest,
                      "environment \"" + *environment + "\" is not one of this deployment's");
  }
  p.workspace_id = workspace_id.value_or("");
  p.environment = environment.value_or("");
  if (events) p.events = std::move(*events);
  if (description) p.description = std::move(*description);
  if (enabled) p.enabled = *enabled;
  auto ep = Endpoints(ctx).Create(std::move(p), call.actor());
  if (!ep.ok()) return call.Fail(ep.status());
  Json j = EndpointJson(*ep);
  j["secret"] = ep->secret;
  call.SendJson(201, j);
}

void ListEndpoints(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  QueryParams q;
  if (!call.Query({"workspace_id"}, &q)) return;
  std::optional<std::string> workspace_id;
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") workspace_id = v;
  }
  if (!call.who.root) {
    if (workspace_id && *workspace_id != call.who.workspace_id) {
      return call.Error(Code::kNotFound, "no such workspace");
    }
    workspace_id = call.who.workspace_id;
  }
  // A root key without workspace_id sees every endpoint; workspace_id=
  // (empty) the operator's own.
  auto list = Endpoints(ctx).List(workspace_id);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& ep : *list) {
    if (!call.who.root && ep.environment != call.who.environment) continue;
    data.push_back(EndpointJson(ep));
  }
  call.SendJson(200, ListBody(std::move(data), ""));
}

void GetEndpoint(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  auto ep = LoadEndpoint(call, ctx, call.params[0]);
  if (ep) call.SendJson(200, EndpointJson(*ep));
}

void UpdateEndpoint(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  auto body = WriteBody(call, ctx, false);
  if (!body) return;
  if (!LoadEndpoint(call, ctx, call.params[0])) return;
  FieldReader f(*body);
  WebhookEndpointUpdate u;
  if (!call.Check(f.OnlyFields({"url", "events", "description", "enabled"})) ||
      !call.Check(f.String("url", &u.url)) || !call.Check(f.StringList("events", &u.events)) ||
      !call.Check(f.String("description", &u.description)) ||
      !call.Check(f.Bool("enabled", &u.enabled))) {
    return;
  }
  auto ep = Endpoints(ctx).Update(call.params[0], u, call.actor());
  if (!ep.ok()) return call.Fail(ep.status());
  call.SendJson(200, EndpointJson(*ep));
}

void DeleteEndpoint(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  if (!LoadEndpoint(call, ctx, call.params[0])) return;
  Status s = Endpoints(ctx).Delete(call.params[0], call.actor());
  if (!s.ok()) return call.Fail(s);
  call.SendJson(200, {{"id", call.params[0]}, {"object", "webhook_endpoint"}, {"deleted", true}});
}

void RollSecret(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  auto body = WriteBody(call, ctx, true);
  if (!body) return;
  if (!LoadEndpoint(call, ctx, call.params[0])) return;
  FieldReader f(*body);
  std::optional<int64_t> overlap;
  if (!call.Check(f.OnlyFields({"overlap_seconds"})) ||
      !call.Check(f.Int("overlap_seconds", 0, kMaxRollOverlapSeconds, &overlap))) {
    return;
  }
  auto ep = Endpoints(ctx).RollSecret(call.params[0], overlap.value_or(86400), call.actor());
  if (!ep.ok()) return call.Fail(ep.status());
  Json j = EndpointJson(*ep);
  j["secret"] = ep->secret;
  call.SendJson(200, j);
}

void ListDeliveries(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  QueryParams q;
  PageRequest page;
  if (!call.Query({"cursor", "limit"}, &q) || !call.Page(q, &page)) return;
  if (!LoadEndpoint(call, ctx, call.params[0])) return;
  auto list = Endpoints(ctx).ListDeliveries(call.params[0], page);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& d : list->items) data.push_back(DeliveryJson(d));
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

void RetryDelivery(Call& call, const RouteContext& ctx) {
  if (!HaveWebhooks(call, ctx)) return;
  auto body = WriteBody(call, ctx, true);
  if (!body) return;
  if (!LoadEndpoint(call, ctx, call.params[0])) return;
  auto d = Endpoints(ctx).RetryDelivery(call.params[0], call.params[1], call.actor());
  if (!d.ok()) return call.Fail(d.status());
  if (ctx.options->wake_webhooks) ctx.options->wake_webhooks();
  call.SendJson(202, DeliveryJson(*d));
}

}  // namespace

void RegisterWebhookRoutes(RouteTable& table) {
  constexpr Access kManage = Access::kRootOrManagingKey;
  table.Add({"POST", "/v1/webhook-endpoints", "createWebhookEndpoint", kManage, CreateEndpoint});
  table.Add({"GET", "/v1/webhook-endpoints", "listWebhookEndpoints", kManage, ListEndpoints});
  table.Add({"GET", "/v1/webhook-endpoints/{id}", "getWebhookEndpoint", kManage, GetEndpoint});
  table.Add(
      {"PATCH", "/v1/webhook-endpoints/{id}", "updateWebhookEndpoint", kManage, UpdateEndpoint});
  table.Add(
      {"DELETE", "/v1/webhook-endpoints/{id}", "deleteWebhookEndpoint", kManage, DeleteEndpoint});
  table.Add({"POST", "/v1/webhook-endpoints/{id}/roll-secret", "rollWebhookEndpointSecret", kManage,
             RollSecret});
  table.Add({"GET", "/v1/webhook-endpoints/{id}/deliveries", "listWebhookDeliveries", kManage,
             ListDeliveries});
  table.Add({"POST", "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry",
             "retryWebhookDelivery", kManage, RetryDelivery});
}

}  // namespace keyward
