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

struct RateLimit {
  int64_t limit = 0;           // requests allowed …
  int64_t period_seconds = 0;  // … per this many seconds
  bool operator==(const RateLimit&) const = default;
};

// What a request to an endpoint costs, in credits: "GET /v1/search" (an
// EndpointPattern) -> 5.
struct CostRule {
  std::string endpoint;
  int64_t cost = 1;
  bool operator==(const CostRule&) const = default;
};

// What a workspace buys: a monthly allowance of credits, a rate limit for
// its keys, a key limit, and what its requests cost. Unset values fall to
// the deployment's. Plans from the configuration ([plans]) are changed
// there only.
struct Plan {
  std::string id;  // "plan_…"
  std::string name;
  std::optional<int64_t> monthly_credits;  // unset: no allowance, unlimited
  std::optional<RateLimit> rate_limit;     // per key, for keys without their own
  std::optional<int64_t> max_active_keys;
  std::vector<CostRule> cost_rules;
  bool from_config = false;
  Timestamp created_at = 0;
  Timestamp updated_at = 0;
};

struct Workspace {
  std::string id;  // "ws_…"
  std::string name;
  // Its own values: each, when set, wins over its plan's, which wins over
  // the deployment's.
  std::optional<int64_t> max_active_keys;
  std::string plan_id;  // empty: no plan
  std::optional<int64_t> monthly_credits;
  std::optional<RateLimit> rate_limit;
  // The day of the month its credit period starts (1-31; a month shorter
  // than it starts on its last day). Unset: the calendar month, UTC.
  std::optional<int> billing_anchor_day;
  // Its own rotation policy (core/rotation_policy.h): its keys are due for
  // rotation this many days after they were made. Unset: the deployment's.
  std::optional<int64_t> rotate_after_days;
  Timestamp created_at = 0;
};

// A key's own credits, for keys sold as "1,000 requests": a balance that
// requests spend and that a refill may set back to an amount every day or
// month. What is left is kept by the credit ledger, not here: this is the
// balance as it was set, at set_at.
struct KeyCredits {
  enum class Interval { kDaily, kMonthly };
  struct Refill {
    int64_t amount = 0;
    Interval interval = Interval::kMonthly;
    int day = 1;  // monthly: the day of the month (1-31, clamped to its end)
    bool operator==(const Refill&) const = default;
  };
  int64_t remaining = 0;
  std::optional<Refill> refill;
  Timestamp set_at = 0;  // a new balance begins here
  bool operator==(const KeyCredits&) const = default;
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
  std::optional<KeyCredits> credits;  // unset: the key spends only its workspace's
  std::string meta_json = "{}";       // a JSON object, kept verbatim
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
  // Only active keys due for rotation at now by their workspace's policy,
  // or else by rotate_after_days, the deployment's (unset: none).
  bool rotation_due = false;
  std::optional<int64_t> rotate_after_days;
  Timestamp now = 0;  // for the status and rotation filters
};

inline constexpr int64_t kMillisPerMinute = 60'000;

// One usage counter row: verifications of a key in one minute with one
// code, and the credits they spent (only kValid spends).
struct UsageRow {
  std::string key_id;
  std::string workspace_id;
  int64_t minute = 0;  // minutes since the Unix epoch
  Code code = Code::kValid;
  int64_t count = 0;
  int64_t credits = 0;
};

// A credit balance: what one workspace's environment ("ws/<id>/<env>") or
// one key's lineage ("key/<id>") may spend in one period, which begins at
// period_start.
struct CreditBalanceId {
  std::string balance;
  Timestamp period_start = 0;
  bool operator==(const CreditBalanceId&) const = default;
};

// Credits a node spent from a balance since its last flush, out of what it
// leased (KeyStore::LeaseCredits).
struct CreditSpend {
  CreditBalanceId id;
  int64_t amount = 0;
  // For the thresholds (workspace balances only; 0: none): the balance's
  // limit now, and whose it is.
  int64_t limit = 0;
  std::string workspace_id;
  std::string environment;
};

// What a node writes at once: counters, last successful uses and credits
// spent. With node_id set, every credit lease of the node is renewed to
// lease_expires_at.
struct UsageBatch {
  std::vector<UsageRow> rows;
  std::vector<std::pair<std::string, Timestamp>> last_used;
  std::vector<CreditSpend> credits;
  std::string node_id;
  Timestamp lease_expires_at = 0;
  bool empty() const { return rows.empty() && last_used.empty() && credits.empty(); }
};

// A node asks for credits of a balance to spend on its own.
struct CreditLeaseRequest {
  CreditBalanceId id;
  int64_t limit = 0;  // what the balance allows in its period
  // At least min credits, or none; up to want when there is plenty (the
  // engine grants no more than half of what is left beyond min, so that the
  // last credits are shared among nodes). want 0: only read.
  int64_t min = 0;
  int64_t want = 0;
  std::string node_id;
  Timestamp now = 0;
  Timestamp expires_at = 0;  // the lease is void after this unless renewed
};

struct CreditLease {
  int64_t granted = 0;
  int64_t spent = 0;      // the balance's credits spent, as flushed by every node
  int64_t held = 0;       // what this node holds now, granted included
  int64_t available = 0;  // limit - spent - every live node's holding, after the grant
};

// Credit thresholds a workspace's balance crossed: recorded once per period.
inline constexpr int kCreditThresholds[] = {80, 100};

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
  int64_t credits = 0;
};

// Usage per key, day (UTC) and code, for billing exports, in the order
// (day, key_id, code), from after the cursor on.
struct UsageExportQuery {
  std::string workspace_id;
  std::string environment;  // empty: every environment
  int64_t from_day = 0;     // days since the Unix epoch, inclusive
  int64_t to_day = 0;       // exclusive
  // Resume after this row (empty key_id: from the start).
  int64_t after_day = 0;
  std::string after_key_id;
  std::string after_code;
  int limit = 1000;
};

struct UsageExportRow {
  int64_t day = 0;
  std::string key_id;
  std::string environment;  // "" when the key is gone
  Code code = Code::kValid;
  int64_t count = 0;
  int64_t credits = 0;
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
