// keyward webhooks create | list | show | update | delete | roll-secret |
// deliveries | retry: where keyward sends its events, and what became of
// each delivery. A signing secret is printed once, when made or rolled.
#include <iostream>
#include <memory>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/operator_api.h"
#include "cli/output.h"

namespace keyward {
namespace {

using nlohmann::json;

struct WebhookOptions {
  std::string id, delivery_id, url, description, workspace, environment;
  std::vector<std::string> events;
  int64_t overlap = 0;
  size_t max = 0;
  bool json = false, enable = false, disable = false;
  CLI::Option *o_url = nullptr, *o_events = nullptr, *o_description = nullptr, *o_overlap = nullptr;
};

std::string EndpointPath(const std::string& id) { return "/v1/webhook-endpoints/" + UrlEncode(id); }

void PrintEndpoint(const json& e) {
  std::string status = e.value("enabled", false) ? "enabled" : "disabled";
  if (e.contains("disabled_reason") && e["disabled_reason"].is_string()) {
    status += " (" + e["disabled_reason"].get<std::string>() + ")";
  }
  PrintFields({
      {"id", Str(e, "id")},
      {"url", Str(e, "url")},
      {"workspace", Str(e, "workspace_id")},
      {"environment", Str(e, "environment")},
      {"events", e.contains("events") && !e["events"].empty() ? JoinList(e, "events") : "all"},
      {"description", Str(e, "description")},
      {"status", status},
      {"previous_secret_until", Str(e, "previous_secret_expires_at")},
      {"created_at", Str(e, "created_at")},
  });
}

// A new or rolled endpoint, and its secret this once.
void PrintEndpointAndSecret(const json& e) {
  PrintEndpoint(e);
  std::cout << "\n  " << Str(e, "secret") << "\n\n"
            << "This signing secret is shown only now. Give it to the receiver, which checks "
               "each delivery's webhook-signature with it.\n";
}

bool Toggle(const WebhookOptions& o, json* body, int* exit_code) {
  if (o.enable && o.disable) {
    std::cerr << "keyward: --enable or --disable, not both\n";
    *exit_code = kExitUsage;
    return false;
  }
  if (o.enable) (*body)["enabled"] = true;
  if (o.disable) (*body)["enabled"] = false;
  return true;
}

}  // namespace

void AddWebhookCommands(CLI::App& app, int* exit_code) {
  auto* wh = app.add_subcommand("webhooks", "Manage webhook endpoints and their deliveries");
  wh->require_subcommand(1);

  auto o = std::make_shared<WebhookOptions>();
  auto* create =
      wh->add_subcommand("create", "Add an endpoint; its signing secret (whsec_…) is shown once");
  create->add_option("--url", o->url, "Where to POST events (https://…)")->required();
  create->add_option("--event", o->events, "An event type to send (repeatable; default: all)");
  create->add_option("--description", o->description, "What it is for");
  create->add_option("--workspace,-w", o->workspace,
                     "One workspace's events only (default: the operator's: every event)");
  create->add_option("--environment,-e", o->environment, "One environment's events only");
  create->add_flag("--disabled", o->disable, "Create it disabled");
  AddJsonFlag(create, &o->json);
  create->callback([o, exit_code] {
    json body = {{"url", o->url}};
    if (!o->events.empty()) body["events"] = o->events;
    if (!o->description.empty()) body["description"] = o->description;
    if (!o->workspace.empty()) body["workspace_id"] = o->workspace;
    if (!o->environment.empty()) body["environment"] = o->environment;
    if (o->disable) body["enabled"] = false;
    PrintAnswer(ApiCall("POST", "/v1/webhook-endpoints", body, exit_code), o->json,
                PrintEndpointAndSecret);
  });

  o = std::make_shared<WebhookOptions>();
  auto* list = wh->add_subcommand("list", "List endpoints");
  list->add_option("--workspace,-w", o->workspace, "Only this workspace's");
  AddJsonFlag(list, &o->json);
  list->callback([o, exit_code] {
    std::string q = QueryParam("workspace_id", o->workspace);
    if (!q.empty()) q[0] = '?';
    auto page = ApiCall("GET", "/v1/webhook-endpoints" + q, nullptr, exit_code);  // one page
    if (!page) return;
    const json* all = &(*page)["data"];
    if (o->json) return PrintJson(*all);
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : *all) {
      rows.push_back({Str(e, "id"), Str(e, "url"), Str(e, "workspace_id"),
                      e.value("enabled", false) ? "enabled" : "disabled",
                      e["events"].empty() ? "all" : JoinList(e, "events")});
    }
    PrintTable({"ID", "URL", "WORKSPACE", "STATUS", "EVENTS"}, rows);
  });

  o = std::make_shared<WebhookOptions>();
  auto* show = wh->add_subcommand("show", "Show one endpoint");
  show->add_option("id", o->id, "The endpoint's id (we_…)")->required();
  AddJsonFlag(show, &o->json);
  show->callback([o, exit_code] {
    PrintAnswer(ApiCall("GET", EndpointPath(o->id), nullptr, exit_code), o->json, PrintEndpoint);
  });

  o = std::make_shared<WebhookOptions>();
  auto* update = wh->add_subcommand("update", "Change an endpoint: only the options given");
  update->add_option("id", o->id, "The endpoint's id")->required();
  o->o_url = update->add_option("--url", o->url, "A new URL");
  o->o_events = update->add_option("--event", o->events,
                                   "The event types to send (repeatable; replaces the list; "
                                   "--event all for every one)");
  o->o_description = update->add_option("--description", o->description, "A new description");
  update->add_flag("--enable", o->enable, "Send to it again (after it was disabled)");
  update->add_flag("--disable", o->disable, "Stop sending to it");
  AddJsonFlag(update, &o->json);
  update->callback([o, exit_code] {
    json body = json::object();
    if (o->o_url->count()) body["url"] = o->url;
    if (o->o_description->count()) body["description"] = o->description;
    if (o->o_events->count()) {
      body["events"] =
          o->events == std::vector<std::string>{"all"} ? json::array() : json(o->events);
    }
    if (!Toggle(*o, &body, exit_code)) return;
    if (body.empty()) {
      std::cerr << "keyward: nothing to change (see keyward webhooks update --help)\n";
      *exit_code = kExitUsage;
      return;
    }
    PrintAnswer(ApiCall("PATCH", EndpointPath(o->id), body, exit_code), o->json, PrintEndpoint);
  });

  o = std::make_shared<WebhookOptions>();
  auto* del = wh->add_subcommand("delete", "Delete an endpoint and its delivery history");
  del->add_option("id", o->id, "The endpoint's id")->required();
  AddJsonFlag(del, &o->json);
  del->callback([o, exit_code] {
    auto r = ApiCall("DELETE", EndpointPath(o->id), nullptr, exit_code);
    if (!r) return;
    if (o->json) return PrintJson(*r);
    std::cout << "deleted " << Str(*r, "id") << "\n";
  });

  o = std::make_shared<WebhookOptions>();
  auto* roll = wh->add_subcommand(
      "roll-secret", "Make a new signing secret; the old one also signs for --overlap seconds");
  roll->add_option("id", o->id, "The endpoint's id")->required();
  o->o_overlap = roll->add_option("--overlap", o->overlap,
                                  "Seconds both secrets sign, 0-604800 (default 86400)");
  AddJsonFlag(roll, &o->json);
  roll->callback([o, exit_code] {
    json body = json::object();
    if (o->o_overlap->count()) body["overlap_seconds"] = o->overlap;
    PrintAnswer(ApiCall("POST", EndpointPath(o->id) + "/roll-secret", body, exit_code), o->json,
                PrintEndpointAndSecret);
  });

  o = std::make_shared<WebhookOptions>();
  auto* deliveries = wh->add_subcommand("deliveries", "An endpoint's deliveries, newest first");
  deliveries->add_option("id", o->id, "The endpoint's id")->required();
  o->max = 50;
  deliveries->add_option("--max", o->max, "At most this many (default 50; 0: all)");
  AddJsonFlag(deliveries, &o->json);
  deliveries->callback([o, exit_code] {
    auto all = ApiList(EndpointPath(o->id) + "/deliveries", "", o->max, exit_code);
    if (!all) return;
    if (o->json) return PrintJson(*all);
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : *all) {
      rows.push_back({Str(d, "id"), Str(d, "event_type"), Str(d, "status"), Str(d, "attempts"),
                      Str(d, "response_status"), Str(d, "latency_ms"), Str(d, "error"),
                      Str(d, "last_attempt_at"), Str(d, "next_attempt_at")});
    }
    PrintTable({"ID", "EVENT", "STATUS", "ATTEMPTS", "HTTP", "MS", "ERROR", "LAST", "NEXT"}, rows);
  });

  o = std::make_shared<WebhookOptions>();
  auto* retry = wh->add_subcommand("retry", "Send a delivery again, once, now");
  retry->add_option("id", o->id, "The endpoint's id")->required();
  retry->add_option("delivery_id", o->delivery_id, "The delivery's id")->required();
  AddJsonFlag(retry, &o->json);
  retry->callback([o, exit_code] {
    auto d =
        ApiCall("POST", EndpointPath(o->id) + "/deliveries/" + UrlEncode(o->delivery_id) + "/retry",
                json::object(), exit_code);
    if (!d) return;
    if (o->json) return PrintJson(*d);
    std::cout << "delivery " << Str(*d, "id") << " is " << Str(*d, "status")
              << " again; `keyward webhooks deliveries " << o->id << "` shows how it went\n";
  });
}

}  // namespace keyward
