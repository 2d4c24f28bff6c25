// What every storage engine decides the same way: the rules of the store
// contract (core/key_store.h) that an engine checks inside its transaction
// (the key limit, the slot rule, stale versions, one replacement per key,
// one use per portal code), the columns of each table and how a row becomes
// a model object. An engine reads what a rule needs through its own
// connection and asks the rule; the rule never does I/O, so SQLite and
// PostgreSQL cannot drift apart.
//
// Internal to store/: engines include it, nothing above them does.
// Thread-safe: pure functions.
#ifndef KEYWARD_STORE_RULES_H_
#define KEYWARD_STORE_RULES_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_store.h"
#include "core/model.h"
#include "core/status.h"

namespace keyward {
namespace store_rules {

// ---- Columns, in the order the row readers below expect them ----
inline constexpr const char* kKeyColumns =
    "id, hash, short_prefix, workspace_id, environment, name, scopes, ip_allowlist, "
    "referrer_allowlist, endpoint_allowlist, rate_limit_limit, rate_limit_period, meta, "
    "created_at, created_by, expires_at, last_used_at, revoked_at, revoked_by, revoked_reason, "
    "disabled, rotated_from, disabled_by, lineage_id, version, credits_remaining, credits_set_at, "
    "credits_refill_amount, credits_refill_interval, credits_refill_day";
inline constexpr const char* kWorkspaceColumns =
    "id, name, max_active_keys, created_at, plan_id, monthly_credits, rate_limit_limit, "
    "rate_limit_period, billing_anchor_day, rotate_after_days";
inline constexpr const char* kPlanColumns =
    "id, name, monthly_credits, rate_limit_limit, rate_limit_period, max_active_keys, cost_rules, "
    "from_config, created_at, updated_at";
inline constexpr const char* kRootKeyColumns =
    "id, hash, short_prefix, name, created_at, created_by, revoked_at";
inline constexpr const char* kAuditColumns =
    "id, at, actor, action, target, workspace_id, ip, details";
inline constexpr const char* kPortalColumns =
    "id, workspace_id, environment, permissions, scopes, return_url, member_id, member_name, "
    "member_email, actor, code_hash, created_at, created_by, code_expires_at, code_used_at, "
    "ended_at";
inline constexpr const char* kWebSessionColumns =
    "token_hash, kind, portal_session_id, root_key_id, created_at, expires_at, ended_at, ip";

// An api_keys row as inserted: the columns, and their values bound in that
// order. Binder is an engine's statement or parameter list, with
// Bind(text | int64_t | optional<int64_t> | KeyHash) and BindNullableText
// (empty text as NULL).
inline constexpr const char* kKeyInsertColumns =
    "id, hash, short_prefix, workspace_id, environment, name, scopes, ip_allowlist, "
    "referrer_allowlist, endpoint_allowlist, rate_limit_limit, rate_limit_period, meta, "
    "created_at, created_by, expires_at, disabled, rotated_from, disabled_by, lineage_id, "
    "credits_remaining, credits_set_at, credits_refill_amount, credits_refill_interval, "
    "credits_refill_day";
template <typename Binder>
void BindKeyInsert(Binder& s, const ApiKey& k);

// An api_keys row as ImportKeys inserts it: kKeyInsertColumns, then
// last_used_at, revoked_at, revoked_by and revoked_reason (NULL when
// unset), which a key made here only gets later; version starts at 0, as
// InsertKey's does. The columns, and how many there are.
std::string KeyImportColumns();
int KeyImportColumnCount();
template <typename Binder>
void BindKeyImport(Binder& s, const ApiKey& k);

// What an update of a key writes, bound in this order: name, scopes,
// ip_allowlist, referrer_allowlist, endpoint_allowlist, rate_limit_limit,
// rate_limit_period, meta, disabled, disabled_by, expires_at, then the
// credits as BindKeyCredits binds them.
template <typename Binder>
void BindKeyUpdate(Binder& s, const ApiKey& k);

// A workspace's values in the order CreateWorkspace writes them: id, name,
// max_active_keys, created_at, plan_id (NULL when none), monthly_credits,
// rate_limit_limit, rate_limit_period, billing_anchor_day,
// rotate_after_days. UpdateWorkspace
// binds the same from name on, without created_at (the caller binds the id
// after them).
inline constexpr const char* kWorkspaceInsertColumns = kWorkspaceColumns;
template <typename Binder>
void BindWorkspaceInsert(Binder& s, const Workspace& w);
template <typename Binder>
void BindWorkspaceUpdate(Binder& s, const Workspace& w);

// A plans row's values in kPlanColumns order; and what an update writes,
// in that order without id and created_at (the caller binds the id after
// them).
template <typename Binder>
void BindPlan(Binder& s, const Plan& p);
template <typename Binder>
void BindPlanUpdate(Binder& s, const Plan& p);

// An audit_log row's values in kAuditColumns order.
template <typename Binder>
void BindAudit(Binder& s, const AuditEntry& e) {
  s.Bind(e.id).Bind(e.at).Bind(e.actor).Bind(e.action).Bind(e.target).Bind(e.workspace_id);
  s.Bind(e.ip).Bind(e.details_json);
}

// The key as RevokeKey answers it, once revoked now.
void MarkRevoked(ApiKey* key, Timestamp at, std::string_view by, std::string_view reason);

// JSON arrays of strings, as the list columns hold them.
std::string ToJsonArray(const std::vector<std::string>& v);
std::vector<std::string> FromJsonArray(const std::string& text);

// A plan's cost rules as the cost_rules column holds them:
// [{"endpoint":"GET /v1/x","cost":5}]. Entries that are not such objects
// are skipped when read.
std::string CostRulesToJson(const std::vector<CostRule>& rules);
std::vector<CostRule> CostRulesFromJson(const std::string& text);

// KeyCredits::Interval as the credits_refill_interval column holds it.
std::string_view RefillIntervalName(KeyCredits::Interval interval);
KeyCredits::Interval RefillIntervalFromName(std::string_view name);

// A page size the lists accept (1..1000).
Status CheckLimit(int limit);

// A LIKE pattern matching text anywhere, with LIKE's own wildcards (and the
// escape, '\') in text matched as themselves.
std::string ContainsPattern(std::string_view text);

// ---- Row readers: Row has Text(i), Int(i), OptInt(i) and Hash(i) ----
template <typename Row>
ApiKey KeyFromRow(const Row& s) {
  ApiKey k;
  k.id = s.Text(0);
  k.hash = s.Hash(1);
  k.short_prefix = s.Text(2);
  k.workspace_id = s.Text(3);
  k.environment = s.Text(4);
  k.name = s.Text(5);
  k.scopes = FromJsonArray(s.Text(6));
  k.ip_allowlist = FromJsonArray(s.Text(7));
  k.referrer_allowlist = FromJsonArray(s.Text(8));
  k.endpoint_allowlist = FromJsonArray(s.Text(9));
  if (auto limit = s.OptInt(10), period = s.OptInt(11); limit && period) {
    k.rate_limit = RateLimit{*limit, *period};
  }
  k.meta_json = s.Text(12);
  k.created_at = s.Int(13);
  k.created_by = s.Text(14);
  k.expires_at = s.OptInt(15);
  k.last_used_at = s.OptInt(16);
  k.revoked_at = s.OptInt(17);
  k.revoked_by = s.Text(18);
  k.revoked_reason = s.Text(19);
  k.disabled = s.Int(20) != 0;
  k.rotated_from = s.Text(21);
  k.disabled_by = s.Text(22);
  k.lineage_id = s.Text(23);
  k.version = s.Int(24);
  if (auto remaining = s.OptInt(25)) {
    KeyCredits c;
    c.remaining = *remaining;
    c.set_at = s.OptInt(26).value_or(0);
    if (auto amount = s.OptInt(27)) {
      c.refill = KeyCredits::Refill{*amount, RefillIntervalFromName(s.Text(28)),
                                    static_cast<int>(s.OptInt(29).value_or(1))};
    }
    k.credits = c;
  }
  return k;
}

template <typename Row>
Workspace WorkspaceFromRow(const Row& s) {
  Workspace w;
  w.id = s.Text(0);
  w.name = s.Text(1);
  w.max_active_keys = s.OptInt(2);
  w.created_at = s.Int(3);
  w.plan_id = s.Text(4);
  w.monthly_credits = s.OptInt(5);
  if (auto limit = s.OptInt(6), period = s.OptInt(7); limit && period) {
    w.rate_limit = RateLimit{*limit, *period};
  }
  if (auto day = s.OptInt(8)) w.billing_anchor_day = static_cast<int>(*day);
  w.rotate_after_days = s.OptInt(9);
  return w;
}

template <typename Row>
Plan PlanFromRow(const Row& s) {
  Plan p;
  p.id = s.Text(0);
  p.name = s.Text(1);
  p.monthly_credits = s.OptInt(2);
  if (auto limit = s.OptInt(3), period = s.OptInt(4); limit && period) {
    p.rate_limit = RateLimit{*limit, *period};
  }
  p.max_active_keys = s.OptInt(5);
  p.cost_rules = CostRulesFromJson(s.Text(6));
  p.from_config = s.Int(7) != 0;
  p.created_at = s.Int(8);
  p.updated_at = s.Int(9);
  return p;
}

template <typename Row>
RootKey RootKeyFromRow(const Row& s) {
  RootKey r;
  r.id = s.Text(0);
  r.hash = s.Hash(1);
  r.short_prefix = s.Text(2);
  r.name = s.Text(3);
  r.created_at = s.Int(4);
  r.created_by = s.Text(5);
  r.revoked_at = s.OptInt(6);
  return r;
}

template <typename Row>
AuditEntry AuditFromRow(const Row& s) {
  AuditEntry e;
  e.id = s.Text(0);
  e.at = s.Int(1);
  e.actor = s.Text(2);
  e.action = s.Text(3);
  e.target = s.Text(4);
  e.workspace_id = s.Text(5);
  e.ip = s.Text(6);
  e.details_json = s.Text(7);
  return e;
}

template <typename Row>
PortalSession PortalSessionFromRow(const Row& s) {
  PortalSession ps;
  ps.id = s.Text(0);
  ps.workspace_id = s.Text(1);
  ps.environment = s.Text(2);
  ps.permissions = FromJsonArray(s.Text(3));
  ps.scopes = FromJsonArray(s.Text(4));
  ps.return_url = s.Text(5);
  ps.member_id = s.Text(6);
  ps.member_name = s.Text(7);
  ps.member_email = s.Text(8);
  ps.actor = s.Text(9);
  ps.code_hash = s.Hash(10);
  ps.created_at = s.Int(11);
  ps.created_by = s.Text(12);
  ps.code_expires_at = s.Int(13);
  ps.code_used_at = s.OptInt(14);
  ps.ended_at = s.OptInt(15);
  return ps;
}

template <typename Row>
WebSession WebSessionFromRow(const Row& s) {
  WebSession w;
  w.token_hash = s.Hash(0);
  w.kind = s.Text(1);
  w.portal_session_id = s.Text(2);
  w.root_key_id = s.Text(3);
  w.created_at = s.Int(4);
  w.expires_at = s.Int(5);
  w.ended_at = s.OptInt(6);
  w.ip = s.Text(7);
  return w;
}

std::optional<int64_t> RateLimitCount(const ApiKey& k);   // rate_limit_limit, or NULL
std::optional<int64_t> RateLimitPeriod(const ApiKey& k);  // rate_limit_period, or NULL
// The same for any optional rate limit (a workspace's, a plan's).
std::optional<int64_t> RateLimitCount(const std::optional<RateLimit>& r);
std::optional<int64_t> RateLimitPeriod(const std::optional<RateLimit>& r);

// A key's credits: credits_remaining, credits_set_at,
// credits_refill_amount, credits_refill_interval, credits_refill_day; all
// NULL when it has none, the refill's three NULL when it has no refill.
template <typename Binder>
void BindKeyCredits(Binder& s, const ApiKey& k) {
  const std::optional<KeyCredits>& c = k.credits;
  const auto& refill = c ? c->refill : std::nullopt;
  s.Bind(c ? std::optional<int64_t>(c->remaining) : std::nullopt);
  s.Bind(c ? std::optional<int64_t>(c->set_at) : std::nullopt);
  s.Bind(refill ? std::optional<int64_t>(refill->amount) : std::nullopt);
  s.BindNullableText(refill ? RefillIntervalName(refill->interval) : std::string_view());
  s.Bind(refill ? std::optional<int64_t>(refill->day) : std::nullopt);
}

template <typename Binder>
void BindKeyInsert(Binder& s, const ApiKey& k) {
  s.Bind(k.id).Bind(k.hash).Bind(k.short_prefix).Bind(k.workspace_id).Bind(k.environment);
  s.Bind(k.name).Bind(ToJsonArray(k.scopes)).Bind(ToJsonArray(k.ip_allowlist));
  s.Bind(ToJsonArray(k.referrer_allowlist)).Bind(ToJsonArray(k.endpoint_allowlist));
  s.Bind(RateLimitCount(k)).Bind(RateLimitPeriod(k));
  s.Bind(k.meta_json).Bind(k.created_at).Bind(k.created_by).Bind(k.expires_at);
  s.Bind(int64_t{k.disabled ? 1 : 0}).BindNullableText(k.rotated_from);
  s.BindNullableText(k.disabled_by).BindNullableText(k.lineage_id);
  BindKeyCredits(s, k);
}

template <typename Binder>
void BindKeyImport(Binder& s, const ApiKey& k) {
  BindKeyInsert(s, k);
  s.Bind(k.last_used_at).Bind(k.revoked_at);
  s.BindNullableText(k.revoked_by).BindNullableText(k.revoked_reason);
}

template <typename Binder>
void BindKeyUpdate(Binder& s, const ApiKey& k) {
  s.Bind(k.name).Bind(ToJsonArray(k.scopes)).Bind(ToJsonArray(k.ip_allowlist));
  s.Bind(ToJsonArray(k.referrer_allowlist)).Bind(ToJsonArray(k.endpoint_allowlist));
  s.Bind(RateLimitCount(k)).Bind(RateLimitPeriod(k));
  s.Bind(k.meta_json).Bind(int64_t{k.disabled ? 1 : 0}).BindNullableText(k.disabled_by);
  s.Bind(k.expires_at);
  BindKeyCredits(s, k);
}

template <typename Binder>
void BindWorkspaceUpdate(Binder& s, const Workspace& w) {
  s.Bind(w.name).Bind(w.max_active_keys).BindNullableText(w.plan_id).Bind(w.monthly_credits);
  s.Bind(RateLimitCount(w.rate_limit)).Bind(RateLimitPeriod(w.rate_limit));
  s.Bind(w.billing_anchor_day ? std::optional<int64_t>(*w.billing_anchor_day) : std::nullopt);
  s.Bind(w.rotate_after_days);
}

template <typename Binder>
void BindWorkspaceInsert(Binder& s, const Workspace& w) {
  s.Bind(w.id).Bind(w.name).Bind(w.max_active_keys).Bind(w.created_at);
  s.BindNullableText(w.plan_id).Bind(w.monthly_credits);
  s.Bind(RateLimitCount(w.rate_limit)).Bind(RateLimitPeriod(w.rate_limit));
  s.Bind(w.billing_anchor_day ? std::optional<int64_t>(*w.billing_anchor_day) : std::nullopt);
  s.Bind(w.rotate_after_days);
}

template <typename Binder>
void BindPlan(Binder& s, const Plan& p) {
  s.Bind(p.id).Bind(p.name).Bind(p.monthly_credits);
  s.Bind(RateLimitCount(p.rate_limit)).Bind(RateLimitPeriod(p.rate_limit));
  s.Bind(p.max_active_keys).Bind(CostRulesToJson(p.cost_rules));
  s.Bind(int64_t{p.from_config ? 1 : 0}).Bind(p.created_at).Bind(p.updated_at);
}

template <typename Binder>
void BindPlanUpdate(Binder& s, const Plan& p) {
  s.Bind(p.name).Bind(p.monthly_credits);
  s.Bind(RateLimitCount(p.rate_limit)).Bind(RateLimitPeriod(p.rate_limit));
  s.Bind(p.max_active_keys).Bind(CostRulesToJson(p.cost_rules));
  s.Bind(int64_t{p.from_config ? 1 : 0}).Bind(p.updated_at);
}

// ---- The rules ----

// What a rule may need to read, in the engine's open transaction. Each is
// called only when the rule needs it.
struct Reads {
  // The id of the key that replaced id, if any.
  std::function<Result<std::optional<std::string>>(std::string_view id)> heir_of;
  // Keys of the workspace occupying a slot at the rule's now.
  std::function<Result<int64_t>()> count_active;
  std::function<Result<ApiKey>(std::string_view id)> get_key;
};

// InsertKey: room for one more key when `active` keys occupy a slot.
Status CheckKeyLimit(std::string_view workspace_id, int64_t active, int64_t max_active);

// UpdateKey: whether `next` may be written over `current` (as stored now).
Status CheckKeyUpdate(const ApiKey& current, const ApiKey& next, int64_t max_active, Timestamp now,
                      const Reads& reads, bool* stale);

// RotateKey: whether `old` (as stored now) may be replaced by replacement,
// its own expiry becoming old_expires_at.
Status CheckRotation(const ApiKey& old, const ApiKey& replacement, Timestamp old_expires_at,
                     int64_t max_active, Timestamp now, const Reads& reads, bool* stale);

// ImportKeys: what becomes of row. holder is the key stored with the row's
// hash, if any (imported rows before it count); id_taken whether a key has
// the row's id; has_workspace whether the row's workspace exists. The last
// two matter only when no key holds the hash.
struct KeyHolder {
  std::string id;
  std::string workspace_id;
  std::string environment;
};
ImportedKey ImportOutcomeOf(const ImportKeyRow& row, const std::optional<KeyHolder>& holder,
                            bool id_taken, bool has_workspace);

// RedeemPortalCode: whether ps's code may open a session at now.
Status CheckPortalCode(const PortalSession& ps, Timestamp now);

// CreateWorkspace, UpdateWorkspace: the refusal when plan_id names no plan.
Status NoSuchPlan(std::string_view plan_id);

// LeaseCredits: what a node asking for at least min and up to want credits
// is granted when `available` are left (limit - spent - what live leases
// hold): min(want, max(min, available / 2)) when that is at least min and
// within available, else 0. Half of what is left, so that the last credits
// are shared among nodes rather than taken by the first to ask.
int64_t CreditGrant(int64_t available, int64_t min, int64_t want);

// RecordUsage: the thresholds (kCreditThresholds, in percent) that spent
// credits reach of limit; none when limit is 0 or less.
std::vector<int> CreditThresholdsReached(int64_t spent, int64_t limit);

// The audit entry of a workspace's balance reaching threshold: actor
// "keyward", "workspace.credits_low" (80) or "workspace.credits_exhausted"
// (100), on the workspace, with the balance, its period, limit and spent.
AuditEntry CreditThresholdAudit(const CreditSpend& spend, int64_t spent, int threshold,
                                Timestamp at);

}  // namespace store_rules
}  // namespace keyward

#endif  // KEYWARD_STORE_RULES_H_
