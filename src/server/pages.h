// What the hosted pages (the portal and the console) need from the HTTP
// layer: their security headers, the session cookies, the built front end
// embedded in the binary (web/dist, see scripts/embed-web.py), and the few
// pages the server renders itself (a portal link that no longer works).
// Thread-safe: functions of their arguments; the assets are constants.
#ifndef KEYWARD_SERVER_PAGES_H_
#define KEYWARD_SERVER_PAGES_H_

#include <span>
#include <string>
#include <string_view>

#include "server/call.h"
#include "server/route.h"

namespace keyward {

// One file of the built front end.
struct WebAsset {
  std::string_view name;          // "portal.html", "assets/portal-3f9a1c.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag;  // "\"<sha-256 prefix>\""
};

// Every embedded file (generated at build time from web/dist).
std::span<const WebAsset> WebAssets();
// The file called name, or null.
const WebAsset* FindWebAsset(std::string_view name);

// Content-Security-Policy (default-src 'self', no inline script,
// frame-ancestors as configured), nosniff and no-referrer, for every page
// and file. inline_style_hash allows one inline stylesheet by its hash
// ("sha256-…"), for the pages the server renders itself.
void SetPageHeaders(Call& call, const RouteContext& ctx, std::string_view inline_style_hash = {});

// Sets (or clears) a session cookie: HttpOnly, SameSite=Strict, Path=/, and
// Secure when public_url is https. It outlives the session by a week, so a
// page can still tell an expired session from none and send its visitor
// back where they came from.
void SetSessionCookie(Call& call, const RouteContext& ctx, std::string_view name,
                      std::string_view token);
void ClearSessionCookie(Call& call, const RouteContext& ctx, std::string_view name);

// A page of the server's own: a heading, a sentence, and a link when
// link_url is not empty. The text is escaped.
void SendMessagePage(Call& call, const RouteContext& ctx, int status, std::string_view title,
                     std::string_view message, std::string_view link_url,
                     std::string_view link_text);

}  // namespace keyward

#endif  // KEYWARD_SERVER_PAGES_H_
