#include "core/web_sessions.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/base62.h"
#include "core/random.h"
#include "core/sha256.h"

namespace keyward {
namespace {

using nlohmann::json;

constexpr size_t kSecretChars = 40;  // 238 bits of base62

bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Status CheckText(std::string_view value, const char* field, size_t max) {
  if (value.size() > max) {
    return Status::InvalidRequest(std::string(field) + " is longer than " + std::to_string(max) +
                                  " bytes");
  }
  if (!Printable(value)) {
    return Status::InvalidRequest(std::string(field) + " holds a control character");
  }
  return Status::Ok();
}

// An absolute http(s) URL with a host: where the page sends people back.
Status CheckReturnUrl(std::string_view url) {
  KEYWARD_RETURN_IF_ERROR(CheckText(url, "return_url", 2048));
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return Status::InvalidRequest("return_url must be an absolute http:// or https:// URL");
  }
  const size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      authority.find('\\') != std::string_view::npos ||
      url.find_first_of(" \"<>\\") != std::string_view::npos) {
    return Status::InvalidRequest(
        "return_url must be an absolute URL with a host and no user info, spaces or quotes");
  }
  return Status::Ok();
}

Status CheckPermissions(const std::vector<std::string>& permissions) {
  if (permissions.empty()) {
    return Status::InvalidRequest(
        "permissions must name at least one of keys:read keys:create keys:rotate keys:revoke "
        "usage:read");
  }
  for (size_t i = 0; i < permissions.size(); ++i) {
    const std::string& p = permissions[i];
    if (std::none_of(std::begin(kPortalPermissions), std::end(kPortalPermissions),
                     [&](const char* known) { return p == known; })) {
      return Status::InvalidRequest("unknown permission \"" + p +
                                    "\"; use keys:read keys:create keys:rotate keys:revoke "
                                    "usage:read");
    }
    if (std::find(permissions.begin(), permissions.begin() + static_cast<long>(i), p) !=
        permissions.begin() + static_cast<long>(i)) {
      return Status::InvalidRequest("permission \"" + p + "\" is listed twice");
    }
  }
  const bool changes = std::any_of(permissions.begin(), permissions.end(), [](const auto& p) {
    return p == "keys:create" || p == "keys:rotate" || p == "keys:revoke";
  });
  if (changes &&
      std::find(permissions.begin(), permissions.end(), "keys:read") == permissions.end()) {
    return Status::InvalidRequest(
        "permissions that change keys need keys:read too: the page lists the keys it changes");
  }
  return Status::Ok();
}

}  // namespace

std::string WebSessions::CsrfToken(std::string_view token) {
  const KeyHash h = Sha256(std::string("keyward-csrf:") + std::string(token));
  return ToHex(h).substr(0, 32);
}

bool WebSessions::LooksLikeToken(std::string_view text) {
  if (!text.starts_with(kSessionTokenPrefix) && !text.starts_with(kPortalCodePrefix)) return false;
  const std::string_view body = text.substr(kSessionTokenPrefix.size());
  return body.size() == kSecretChars && std::all_of(body.begin(), body.end(), IsBase62);
}

Result<CreatedPortalSession> WebSessions::CreatePortalSession(NewPortalSession p,
                                                              const Actor& actor) {
  if (p.workspace_id.empty()) return Status::InvalidRequest("workspace_id is required");
  if (!p.environment.empty() &&
      std::find(options_.environments.begin(), options_.environments.end(), p.environment) ==
          options_.environments.end()) {
    std::string known;
    for (const auto& e : options_.environments) known += (known.empty() ? "" : ", ") + e;
    return Status::InvalidRequest("unknown environment \"" + p.environment +
                                  "\"; this deployment has " + known);
  }
  std::vector<std::string> permissions =
      p.permissions
          ? std::move(*p.permissions)
          : std::vector<std::string>(std::begin(kPortalPermissions), std::end(kPortalPermissions));
  KEYWARD_RETURN_IF_ERROR(CheckPermissions(permissions));
  if (p.scopes.size() > 64) return Status::InvalidRequest("scopes has more than 64 entries");
  for (const auto& s : p.scopes) {
    if (s.empty() || s.size() > 128 || !Printable(s) || s.find(' ') != std::string::npos) {
      return Status::InvalidRequest("each scope must be 1 to 128 printable bytes without spaces");
    }
  }
  if (!p.return_url.empty()) KEYWARD_RETURN_IF_ERROR(CheckReturnUrl(p.return_url));
  KEYWARD_RETURN_IF_ERROR(CheckText(p.member_id, "member.id", 128));
  KEYWARD_RETURN_IF_ERROR(CheckText(p.member_name, "member.name", 200));
  KEYWARD_RETURN_IF_ERROR(CheckText(p.member_email, "member.email", 254));
  if (p.member_id.empty() && (!p.member_name.empty() || !p.member_email.empty())) {
    return Status::InvalidRequest("member.id is required when member is given");
  }
  const Timestamp now = clock_->Now();
  CreatedPortalSession out;
  out.code = std::string(kPortalCodePrefix) + RandomBase62(kSecretChars);
  PortalSession& ps = out.record;
  ps.id = NewId("ps");
  ps.workspace_id = std::move(p.workspace_id);
  ps.environment = std::move(p.environment);
  ps.permissions = std::move(permissions);
  ps.scopes = std::move(p.scopes);
  ps.return_url = std::move(p.return_url);
  ps.member_id = std::move(p.member_id);
  ps.member_name = std::move(p.member_name);
  ps.member_email = std::move(p.member_email);
  ps.actor = p.as_operator          ? actor.id
             : ps.member_id.empty() ? "portal:" + ps.id
                                    : "member:" + ps.member_id;
  ps.code_hash = Sha256(out.code);
  ps.created_at = now;
  ps.created_by = actor.id;
  ps.code_expires_at = now + options_.code_ttl_seconds * 1000;
  json details = {
      {"environment", ps.environment}, {"permissions", ps.permissions}, {"actor", ps.actor}};
  if (!ps.member_id.empty()) details["member_id"] = ps.member_id;
  KEYWARD_RETURN_IF_ERROR(store_->InsertPortalSession(
      ps,
      MakeAuditEntry(actor, now, "portal_session.create", ps.id, ps.workspace_id, details.dump())));
  return out;
}

Status WebSessions::EndPortalSession(std::string_view id, const Actor& actor) {
  auto ps = store_->GetPortalSession(id);
  if (!ps.ok()) return ps.status();
  const Timestamp now = clock_->Now();
  return store_->EndPortalSession(
      id, now, MakeAuditEntry(actor, now, "portal_session.end", ps->id, ps->workspace_id, "{}"));
}

Result<OpenedWebSession> WebSessions::RedeemCode(std::string_view code, std::string_view ip,
                                                 PortalSession* found) {
  if (!code.starts_with(kPortalCodePrefix) || !LooksLikeToken(code)) {
    return Status::NotFound("this link is not valid");
  }
  const Timestamp now = clock_->Now();
  OpenedWebSession out;
  out.token = std::string(kSessionTokenPrefix) + RandomBase62(kSecretChars);
  WebSession& w = out.session;
  w.token_hash = Sha256(out.token);
  w.kind = "portal";
  w.created_at = now;
  w.expires_at = now + options_.session_ttl_seconds * 1000;
  w.ip = std::string(ip);
  // Who redeems is known only once the code is: the store fills in the
  // portal session's id and actor.
  KEYWARD_RETURN_IF_ERROR(store_->RedeemPortalCode(
      Sha256(code), now, w,
      MakeAuditEntry(Actor{"", std::string(ip)}, now, "portal_session.open", "", "", "{}"), found));
  w.portal_session_id = found->id;
  out.portal = *found;
  return out;
}

Result<OpenedWebSession> WebSessions::OpenConsole(std::string_view root_key_id,
                                                  std::string_view ip) {
  const Timestamp now = clock_->Now();
  OpenedWebSession out;
  out.token = std::string(kSessionTokenPrefix) + RandomBase62(kSecretChars);
  WebSession& w = out.session;
  w.token_hash = Sha256(out.token);
  w.kind = "console";
  w.root_key_id = std::string(root_key_id);
  w.created_at = now;
  w.expires_at = now + options_.session_ttl_seconds * 1000;
  w.ip = std::string(ip);
  KEYWARD_RETURN_IF_ERROR(store_->InsertWebSession(
      w,
      MakeAuditEntry(Actor{w.root_key_id, w.ip}, now, "console.sign_in", w.root_key_id, "", "{}")));
  return out;
}

Result<ActiveWebSession> WebSessions::Resolve(std::string_view token, std::string_view kind,
                                              std::optional<PortalSession>* portal) {
  if (!token.starts_with(kSessionTokenPrefix) || !LooksLikeToken(token)) {
    return Status(Code::kUnauthorized, "no session: open the link you were given again");
  }
  auto w = store_->FindWebSession(Sha256(token));
  if (!w.ok()) {
    if (w.status().IsNotFound()) {
      return Status(Code::kUnauthorized, "no session: open the link you were given again");
    }
    return w.status();
  }
  if (w->kind != kind) {
    return Status(Code::kUnauthorized, "no " + std::string(kind) + " session");
  }
  ActiveWebSession out;
  out.session = *w;
  if (w->kind == "portal") {
    auto ps = store_->GetPortalSession(w->portal_session_id);
    if (!ps.ok()) return ps.status();
    out.portal = *ps;
    if (portal != nullptr) *portal = *ps;
  } else {
    auto roots = store_->ListRootKeys();
    if (!roots.ok()) return roots.status();
    for (auto& r : *roots) {
      if (r.id == w->root_key_id) out.root = std::move(r);
    }
    if (!out.root || out.root->revoked_at) {
      return Status(Code::kSessionExpired,
                    "the root key of this session was revoked; sign in again");
    }
  }
  const Timestamp now = clock_->Now();
  if (w->ended_at) return Status(Code::kSessionExpired, "this session was ended; sign in again");
  if (now >= w->expires_at) return Status(Code::kSessionExpired, "this session has expired");
  return out;
}

Status WebSessions::SignOut(std::string_view token, const Actor& actor) {
  const Timestamp now = clock_->Now();
  return store_->EndWebSession(Sha256(token), now,
                               MakeAuditEntry(actor, now, "session.sign_out", "", "", "{}"));
}

}  // namespace keyward
