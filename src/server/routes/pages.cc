// The hosted pages: the customer portal (/portal, where a one-time link is
// redeemed for a session), the operator console (/console), and the built
// files they load (/assets/…, hashed names, cached for a year).
// Thread-safe: handlers run on any serving thread at once.
#include "server/pages.h"
#include "core/key_service.h"
#include "core/web_sessions.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/forwarded.h"
#include "server/routes/routes.h"

namespace keyward {
namespace {

void SendAsset(Call& call, const RouteContext& ctx, const WebAsset& asset, bool immutable) {
  SetPageHeaders(call, ctx);
  call.reply.response.Set("ETag", asset.etag);
  call.reply.response.Set("Cache-Control",
                          immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (Header(call.req, "If-None-Match") == asset.etag) {
    call.SendContent(304, "", "");
    return;
  }
  call.SendContent(200, asset.content_type, std::string(asset.body));
}

void SendEntryPage(Call& call, const RouteContext& ctx, std::string_view name) {
  const WebAsset* page = FindWebAsset(name);
  if (page == nullptr) {
    return SendMessagePage(call, ctx, 503, "The dashboard is not built in",
                           "This keyward binary was built without its web pages. Build it "
                           "with `make build`, which builds web/ first.",
                           "", "");
  }
  // The page itself is small and changes with each release: revalidated
  // every time (its ETag makes that a 304), while what it loads is cached.
  SendAsset(call, ctx, *page, /*immutable=*/false);
}

// The value of name in the query string, as sent (codes are base62).
std::string_view QueryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
  }
  return {};
}

void Portal(Call& call, const RouteContext& ctx) {
  const std::string_view code = QueryValue(call.query, "code");
  if (code.empty()) return SendEntryPage(call, ctx, "portal.html");
  auto client = ClientAddress(call.req, call.peer_ip, ctx.options->trusted_proxies);
  if (!client.ok()) return call.Fail(client.status());
  call.client_ip = std::move(*client);
  if (ctx.verifier->FailureLimited(call.client_ip)) {
    return SendMessagePage(call, ctx, 429, "Too many attempts",
                           "Too many links that do not work were opened from this address. "
                           "Wait a minute, then open your link again.",
                           "", "");
  }
  PortalSession found;
  auto opened = ctx.sessions->RedeemCode(code, call.client_ip, &found);
  if (opened.ok()) {
    SetSessionCookie(call, ctx, kPortalCookie, opened->token);
    // The code leaves the address bar (and the history) at once.
    call.reply.response.Set("Location", "/portal");
    SetPageHeaders(call, ctx);
    call.SendContent(303, "", "");
    return;
  }
  const Code code_answered = opened.status().code();
  if (code_answered == Code::kNotFound) {
    ctx.verifier->RecordFailure(call.client_ip);
    return SendMessagePage(call, ctx, 404, "This link does not work",
                           "The link is not valid. Check that it was copied whole, or ask for a "
                           "new one.",
                           "", "");
  }
  const std::string_view back = found.return_url;
  if (code_answered == Code::kConflict || code_answered == Code::kExpired) {
    const bool used = code_answered == Code::kConflict;
    return SendMessagePage(
        call, ctx, 410, used ? "This link was already used" : "This link has expired",
        used ? "A portal link works once. Go back and open the API keys page again to get a new "
               "link."
             : "A portal link works for a few minutes only. Go back and open the API keys page "
               "again to get a new link.",
        back, "Go back");
  }
  call.Fail(opened.status());
}

void Console(Call& call, const RouteContext& ctx) { SendEntryPage(call, ctx, "console.html"); }

void Asset(Call& call, const RouteContext& ctx) {
  const std::string name = "assets/" + std::string(call.params[0]);
  const WebAsset* asset = FindWebAsset(name);
  if (asset == nullptr) return call.Error(Code::kNotFound, "no such file");
  SendAsset(call, ctx, *asset, /*immutable=*/true);
}

void Root(Call& call, const RouteContext& ctx) {
  call.reply.response.Set("Location", "/console");
  SetPageHeaders(call, ctx);
  call.SendContent(303, "", "");
}

}  // namespace

void RegisterPageRoutes(RouteTable& table) {
  table.Add({"GET", "/portal", "portalPage", Access::kPublic, Portal});
  table.Add({"GET", "/console", "consolePage", Access::kPublic, Console});
  table.Add({"GET", "/assets/{file}", "webAsset", Access::kPublic, Asset});
  table.Add({"GET", "/", "rootPage", Access::kPublic, Root});
}

}  // namespace keyward
