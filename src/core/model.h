// The objects keyward keeps: workspaces, API keys, root keys and audit
// entries, as plain values shared by core/, store/ and server/.
// A key record holds the SHA-256 of the key, never the key.
// Thread-safe: plain values.
#ifndef KEYWARD_CORE_MODEL_H_
#define KEYWARD_CORE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/code.h"
#include "core/sha256.h"

namespace keyward {

struct Workspace {
  std::string id;  // "ws_…"
  std::string name;
  std::optional<int64_t> max_active_keys;  // unset: the deployment's default
  Timestamp created_at = 0;
};

struct RateLimit {
  int64_t limit = 0;           // requests allowed …
  int64_t period_seconds = 0;  // … per this many seconds
  bool operator==(const RateLimit&) const = default;
};

enum class KeyStatus { kActive, kRevoked, kExpired, kDisabled };
std::string_view KeyStatusName(KeyStatus s);
std::optional<KeyStatus> KeyStatusFromName(std::string_view name);

struct ApiKey {
  std::string id;  // "key_…"
  KeyHash hash{};
  std::string short_prefix;
  std::string workspace_id;
  std::string environment;
  std::string name;
  std::vector<std::string> scopes;
  std::vector<std::string> ip_allowlist;        // canonical CIDR text
  std::vector<std::string> referrer_allowlist;  // as ReferrerPattern accepts
  std::vector<std::string> endpoint_allowlist;  // as EndpointPattern accepts
  std::optional<RateLimit> rate_limit;
  std::string meta_json = "{}";  // a JSON object, kept verbatim
  Timestamp created_at = 0;
  std::string created_by;
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> last_used_at;
  std::optional<Timestamp> revoked_at;
  std::string revoked_by;
  std::string revoked_reason;
  bool disabled = false;
  std::string disabled_by;   // who disabled it, while it is disabled
  std::string rotated_from;  // id of the key this one replaced, if any
  // The first key of its rotation lineage (empty: this key). Keys of one
  // lineage share one rate-limit budget.
  std::string lineage_id;
  // Bumped by every change; an update must name the version it was made
  // from (KeyStore::UpdateKey), so no answered change is lost to a race.
  int64_t version = 0;

  // Revoked wins over expired, expired over disabled: the order verification
  // checks them in.
  KeyStatus StatusAt(Timestamp now) const;
};

struct RootKey {
  std::string id;  // "rk_…"
  KeyHash hash{};
  std::string short_prefix;
  std::string name;
  Timestamp created_at = 0;
  std::string created_by;
  std::optional<Timestamp> revoked_at;
};

struct AuditEntry {
  std::string id;  // "evt_…"
  Timestamp at = 0;
  std::string actor;                // "rk_…", "key_…" or "cli"
  std::string action;               // "key.create", "key.revoke", …
  std::string target;               // the object's id
  std::string workspace_id;         // empty for deployment-wide actions
  std::string ip;                   // where the call came from, when known
  std::string details_json = "{}";  // never a secret
};

// Who asks for a change, and from where; goes into the audit entry.
struct Actor {
  std::string id;
  std::string ip;
  // Set when a managing (keys:manage) API key asks: what it may hand out
  // is bounded by what it holds (core/self_service.h). Null for root keys
  // and the command line.
  const ApiKey* managing_key = nullptr;
};

// An audit entry of actor's change at at, with a fresh id.
AuditEntry MakeAuditEntry(const Actor& actor, Timestamp at, std::string action, std::string target,
                          std::string workspace_id, std::string details_json);

// Cursor pagination: the cursor is the id of the last object of the previous
// page; lists run newest first.
struct PageRequest {
  std::string cursor;
  int limit = 50;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty on the last page
};

struct KeyFilter {
  std::string workspace_id;  // empty: every workspace
  std::string environment;   // empty: every environment
  std::optional<KeyStatus> status;
  Timestamp now = 0;  // for the status filter
};

inline constexpr int64_t kMillisPerMinute = 60'000;

// One usage counter row: verifications of a key in one minute with one code.
struct UsageRow {
  std::string key_id;
  std::string workspace_id;
  int64_t minute = 0;  // minutes since the Unix epoch
  Code code = Code::kValid;
  int64_t count = 0;
};

// What a node writes at once: counters and last successful uses.
struct UsageBatch {
  std::vector<UsageRow> rows;
  std::vector<std::pair<std::string, Timestamp>> last_used;
  bool empty() const { return rows.empty() && last_used.empty(); }
};

struct UsageQuery {
  std::string workspace_id;
  std::string key_id;       // empty: every key of the workspace
  std::string environment;  // empty: every environment; else only its keys
  int64_t from_minute = 0;  // inclusive
  int64_t to_minute = 0;    // exclusive
  int64_t bucket_minutes = 60;
};

struct UsagePoint {
  int64_t bucket_minute = 0;  // the bucket's first minute
  Code code = Code::kValid;
  int64_t count = 0;
};

// Valid verifications of one key over the last day and the last 30 days.
struct RequestCounts {
  int64_t last_24h = 0;
  int64_t last_30d = 0;
};

struct AuditFilter {
  std::string workspace_id;  // empty: every entry
  std::string target;        // empty: every target
  std::string actor;         // empty: every actor
  std::string action;        // empty: every action
};

struct WorkspaceFilter {
  std::string query;  // empty: every workspace; else a part of the name or id
};

// What a portal session may do: its permissions, as names.
inline constexpr const char* kPortalPermissions[] = {"keys:read", "keys:create", "keys:rotate",
                                                     "keys:revoke", "usage:read"};

// A link an operator hands a customer: a one-time code, redeemed in a browser
// for a web session that reaches one workspace (and, when set, one
// environment) with some permissions. Only the code's hash is stored.
struct PortalSession {
  std::string id;  // "ps_…"
  std::string workspace_id;
  std::string environment;  // empty: every environment
  std::vector<std::string> permissions;
  std::vector<std::string> scopes;  // what keys created on the page may carry
  std::string return_url;           // empty: none
  std::string member_id, member_name, member_email;
  std::string actor;  // what its changes are audited as
  KeyHash code_hash{};
  Timestamp created_at = 0;
  std::string created_by;
  Timestamp code_expires_at = 0;
  std::optional<Timestamp> code_used_at;
  std::optional<Timestamp> ended_at;  // ended by the operator
};

// A browser's session, held in a cookie: for the portal (one PortalSession)
// or the operator console (one root key). Only the token's hash is stored.
struct WebSession {
  KeyHash token_hash{};
  std::string kind;               // "portal" or "console"
  std::string portal_session_id;  // portal
  std::string root_key_id;        // console
  Timestamp created_at = 0;
  Timestamp expires_at = 0;
  std::optional<Timestamp> ended_at;  // signed out
  std::string ip;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_MODEL_H_
