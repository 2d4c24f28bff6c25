#include "server/pages.h"

#include <openssl/evp.h>

#include <algorithm>

#include "core/sha256.h"
#include "server/api.h"

namespace keyward {
namespace {

// The origin part of a URL ("https://cdn.example.com/logo.svg" ->
// "https://cdn.example.com"); empty for a path on this host.
std::string_view OriginOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const size_t end = url.find('/', scheme + 3);
  return url.substr(0, end);
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Base64(const KeyHash& h) {
  unsigned char out[64];
  const int n = EVP_EncodeBlock(out, h.data(), static_cast<int>(h.size()));
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

constexpr std::string_view kMessageStyle =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "background:#f6f7f9;color:#1f2328}main{max-width:32rem;margin:12vh auto;padding:2rem;"
    "background:#fff;border:1px solid #d0d7de;border-radius:12px}h1{font-size:1.4rem;margin:0 0 "
    "1rem}p{line-height:1.5}a{color:#0b57d0;font-weight:600}";

}  // namespace

const WebAsset* FindWebAsset(std::string_view name) {
  for (const WebAsset& a : WebAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void SetPageHeaders(Call& call, const RouteContext& ctx, std::string_view inline_style_hash) {
  const PageOptions& pages = ctx.options->pages;
  std::string img = "'self' data:";
  if (const std::string_view logo = OriginOf(pages.logo_url); !logo.empty()) {
    img += ' ';
    img += logo;
  }
  std::string frames;
  for (const auto& f : pages.frame_ancestors) frames += (frames.empty() ? "" : " ") + f;
  if (frames.empty()) frames = "'none'";
  std::string style = "'self'";
  if (!inline_style_hash.empty()) style += " '" + std::string(inline_style_hash) + "'";
  call.reply.response.Set("Content-Security-Policy",
                          "default-src 'self'; script-src 'self'; style-src " + style +
                              "; img-src " + img +
                              "; connect-src 'self'; font-src 'self'; object-src 'none'; "
                              "base-uri 'none'; form-action 'self'; frame-ancestors " +
                              frames);
  call.reply.response.Set("X-Content-Type-Options", "nosniff");
  call.reply.response.Set("Referrer-Policy", "no-referrer");
  // For browsers that predate frame-ancestors.
  if (pages.frame_ancestors.empty()) call.reply.response.Set("X-Frame-Options", "DENY");
}

void SetSessionCookie(Call& call, const RouteContext& ctx, std::string_view name,
                      std::string_view token) {
  const PageOptions& pages = ctx.options->pages;
  const int64_t max_age = pages.session_ttl_seconds + 7 * 24 * 3600;
  std::string cookie = std::string(name) + "=" + std::string(token) +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
  if (pages.public_url.starts_with("https://")) cookie += "; Secure";
  call.reply.response.Set("Set-Cookie", cookie);
}

void ClearSessionCookie(Call& call, const RouteContext& ctx, std::string_view name) {
  std::string cookie = std::string(name) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
  if (ctx.options->pages.public_url.starts_with("https://")) cookie += "; Secure";
  call.reply.response.Set("Set-Cookie", cookie);
}

void SendMessagePage(Call& call, const RouteContext& ctx, int status, std::string_view title,
                     std::string_view message, std::string_view link_url,
                     std::string_view link_text) {
  static const std::string style_hash = "sha256-" + Base64(Sha256(kMessageStyle));
  const PageOptions& pages = ctx.options->pages;
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>";
  html += HtmlEscape(title) + " · " + HtmlEscape(pages.product_name);
  html += "</title><style>" + std::string(kMessageStyle) + "</style></head><body><main><h1>";
  html += HtmlEscape(title) + "</h1><p>" + HtmlEscape(message) + "</p>";
  if (!link_url.empty()) {
    html += "<p><a href=\"" + HtmlEscape(link_url) + "\">" + HtmlEscape(link_text) + "</a></p>";
  }
  html += "</main></body></html>\n";
  SetPageHeaders(call, ctx, style_hash);
  call.SendContent(status, "text/html; charset=utf-8", std::move(html));
}

}  // namespace keyward
