// WebSessions: the browser side of keyward. An operator's back end asks for
// a portal session (a one-time code in a link, for one workspace); the
// customer's browser redeems the code for a web session held in a cookie.
// An operator signs in to the console with a root key, which becomes a web
// session the same way. Codes and session tokens are secrets shown once and
// stored only as SHA-256 hashes, like keys; the CSRF token of a session is
// derived from its token, so it needs no storage.
// Owns nothing but its options; the store and clock outlive it.
// Thread-safe: every method, from any thread.
#ifndef KEYWARD_CORE_WEB_SESSIONS_H_
#define KEYWARD_CORE_WEB_SESSIONS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/key_store.h"
#include "core/model.h"
#include "core/status.h"

namespace keyward {

struct WebSessionOptions {
  int64_t code_ttl_seconds = 15 * 60;          // how long a portal link works
  int64_t session_ttl_seconds = 24 * 60 * 60;  // how long a browser session lasts
  std::vector<std::string> environments;       // the deployment's, for validation
};

// What the operator asks for (POST /v1/portal-sessions).
struct NewPortalSession {
  std::string workspace_id;
  std::string environment;                              // empty: every environment
  std::optional<std::vector<std::string>> permissions;  // unset: all of them
  std::vector<std::string> scopes;                      // what keys made on the page may carry
  std::string return_url;                               // empty: none
  std::string member_id, member_name, member_email;
  // Opened from the console: the page acts for, and is audited as, the root
  // key that opened it.
  bool as_operator = false;
};

struct CreatedPortalSession {
  PortalSession record;
  std::string code;  // the one-time secret that goes into the link
};

// A web session just made, with its token (the cookie's value, shown once).
struct OpenedWebSession {
  WebSession session;
  std::string token;
  std::optional<PortalSession> portal;  // for a portal session
};

// A cookie's session, once resolved and found in force.
struct ActiveWebSession {
  WebSession session;
  std::optional<PortalSession> portal;  // kind "portal"
  std::optional<RootKey> root;          // kind "console"
};

class WebSessions {
 public:
  WebSessions(KeyStore* store, const Clock* clock, WebSessionOptions options)
      : store_(store), clock_(clock), options_(std::move(options)) {}

  const WebSessionOptions& options() const { return options_; }

  // InvalidRequest naming the field for bad input; NotFound for a missing
  // workspace. Audited as "portal_session.create".
  Result<CreatedPortalSession> CreatePortalSession(NewPortalSession p, const Actor& actor);
  Result<PortalSession> GetPortalSession(std::string_view id) {
    return store_->GetPortalSession(id);
  }
  // Withdraws a portal session: its link stops working and its browsers are
  // signed out. Audited as "portal_session.end".
  Status EndPortalSession(std::string_view id, const Actor& actor);

  // Redeems a link's code for a web session. kNotFound for a code that was
  // never issued; kConflict when it was used or withdrawn; kExpired. When
  // the code is known, *found is its portal session (for its return_url).
  Result<OpenedWebSession> RedeemCode(std::string_view code, std::string_view ip,
                                      PortalSession* found);
  // A console session for root (already authenticated). Audited as
  // "console.sign_in".
  Result<OpenedWebSession> OpenConsole(std::string_view root_key_id, std::string_view ip);

  // The session of a cookie's token, of the kind asked for. kUnauthorized
  // when there is none; kSessionExpired when it expired, was signed out or
  // withdrawn, or its root key was revoked, with *portal set (when
  // non-null) to its portal session so the page can go back where it came
  // from.
  Result<ActiveWebSession> Resolve(std::string_view token, std::string_view kind,
                                   std::optional<PortalSession>* portal);
  // Signs the session out. Audited as "session.sign_out".
  Status SignOut(std::string_view token, const Actor& actor);

  // The CSRF token of a session: derived from its token, so a page that
  // holds the session (and only such a page) can learn it.
  static std::string CsrfToken(std::string_view token);
  // Whether text has the shape of a session token or a portal code.
  static bool LooksLikeToken(std::string_view text);

 private:
  KeyStore* store_;
  const Clock* clock_;
  WebSessionOptions options_;
};

// Prefixes of the secrets WebSessions hands out (fixed, like root keys').
inline constexpr std::string_view kPortalCodePrefix = "kw_code_";
inline constexpr std::string_view kSessionTokenPrefix = "kw_sess_";

}  // namespace keyward

#endif  // KEYWARD_CORE_WEB_SESSIONS_H_
