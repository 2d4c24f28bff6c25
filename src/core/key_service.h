// KeyService: the key lifecycle. Creates workspaces and keys (the secret is
// returned once and never kept), lists, updates, revokes and rotates them,
// and issues root keys. Every change writes an audit entry in the same
// transaction. Storage through the KeyStore interface, time through Clock.
//
// Observers hear of every change made through this service, after it
// committed, so that caches can drop what they hold.
// Thread-safe: yes, as long as the store is.
#ifndef KEYWARD_CORE_KEY_SERVICE_H_
#define KEYWARD_CORE_KEY_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/key_format.h"
#include "core/key_import.h"
#include "core/key_store.h"
#include "core/leaks.h"
#include "core/model.h"
#include "core/mutex.h"
#include "core/status.h"
#include "core/verifier.h"

namespace keyward {

inline constexpr int64_t kDefaultMaxActiveKeys = 20;
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxListEntries = 100;
inline constexpr size_t kMaxMetaBytes = 8192;

struct KeyServiceOptions {
  KeyStore* store = nullptr;
  const KeyFormat* format = nullptr;
  const Clock* clock = nullptr;
  int64_t default_max_active = kDefaultMaxActiveKeys;
  // What a key without a rate limit of its own gets; bounds self-service.
  std::optional<RateLimit> default_rate_limit;
  // The plan new workspaces are put on ([plans] default); empty: none.
  std::string default_plan_id;
  // Key lifetime policies (core/rotation_policy.h), in days; unset: none.
  // A workspace's own rotate_after_days wins over this one.
  std::optional<int64_t> rotate_after_days;
  std::optional<int64_t> max_key_lifetime_days;
};

struct NewKeyParams {
  std::string workspace_id;
  std::string environment;
  std::string name;
  std::vector<std::string> scopes;
  std::vector<std::string> ip_allowlist;
  std::vector<std::string> referrer_allowlist;
  std::vector<std::string> endpoint_allowlist;
  std::optional<RateLimit> rate_limit;
  std::optional<KeyCredits> credits;  // set_at is filled in
  std::string meta_json = "{}";       // a JSON object; the caller has parsed it
  std::optional<Timestamp> expires_at;
};

// A change to a key; unset fields stay as they are.
struct KeyUpdate {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> scopes;
  std::optional<std::vector<std::string>> ip_allowlist;
  std::optional<std::vector<std::string>> referrer_allowlist;
  std::optional<std::vector<std::string>> endpoint_allowlist;
  std::optional<std::optional<RateLimit>> rate_limit;  // set to nullopt: clear it
  // Set: a new balance from now (set_at is filled in); nullopt: none.
  std::optional<std::optional<KeyCredits>> credits;
  std::optional<std::string> meta_json;
  std::optional<bool> enabled;  // enabling or disabling records who did it
  std::optional<std::optional<Timestamp>> expires_at;
};

struct NewWorkspaceParams {
  std::string name;
  std::optional<int64_t> max_active_keys;
  std::optional<std::string> plan_id;  // unset: the default plan; "": none
  std::optional<int64_t> monthly_credits;
  std::optional<RateLimit> rate_limit;
  std::optional<int> billing_anchor_day;
  std::optional<int64_t> rotate_after_days;
};

// A change to a workspace; unset fields stay, nullopt clears (plan_id "":
// no plan).
struct WorkspaceUpdate {
  std::optional<std::string> name;
  std::optional<std::optional<int64_t>> max_active_keys;
  std::optional<std::string> plan_id;
  std::optional<std::optional<int64_t>> monthly_credits;
  std::optional<std::optional<RateLimit>> rate_limit;
  std::optional<std::optional<int>> billing_anchor_day;
  std::optional<std::optional<int64_t>> rotate_after_days;
};

struct NewPlanParams {
  std::string name;
  std::optional<int64_t> monthly_credits;
  std::optional<RateLimit> rate_limit;
  std::optional<int64_t> max_active_keys;
  std::vector<CostRule> cost_rules;
};

struct PlanUpdate {
  std::optional<std::string> name;
  std::optional<std::optional<int64_t>> monthly_credits;
  std::optional<std::optional<RateLimit>> rate_limit;
  std::optional<std::optional<int64_t>> max_active_keys;
  std::optional<std::vector<CostRule>> cost_rules;
};

struct CreatedKey {
  ApiKey record;
  std::string secret;  // the full key: hand it out once, then forget it
};

struct CreatedRootKey {
  RootKey record;
  std::string secret;
};

// Told after a change to a key commits.
class KeyChangeObserver {
 public:
  virtual ~KeyChangeObserver() = default;
  virtual void OnKeyChanged(const ApiKey& key) = 0;
  // A workspace's or plan's settings changed.
  virtual void OnPolicyChanged() {}
};

class KeyService {
 public:
  explicit KeyService(KeyServiceOptions options);

  // Plans (core/workspace_service.cc). Plans from the configuration are
  // changed there only (kConflict here).
  Result<Plan> CreatePlan(NewPlanParams params, const Actor& actor);
  Result<Plan> UpdatePlan(std::string_view id, const PlanUpdate& update, const Actor& actor);
  Result<Plan> GetPlan(std::string_view id) { return store_->GetPlan(id); }
  Result<std::vector<Plan>> ListPlans() { return store_->ListPlans(); }
  // Makes the stored plans from the configuration what it says: inserts the
  // new, updates those that differ (audited as "config").
  Status ApplyConfigPlans(const std::vector<Plan>& plans);

  // Workspaces.
  Result<Workspace> CreateWorkspace(NewWorkspaceParams params, const Actor& actor);
  // A workspace with a name and, optionally, its own key limit.
  Result<Workspace> CreateWorkspace(std::string name, std::optional<int64_t> max_active_keys,
                                    const Actor& actor) {
    NewWorkspaceParams p;
    p.name = std::move(name);
    p.max_active_keys = max_active_keys;
    return CreateWorkspace(std::move(p), actor);
  }
  Result<Workspace> UpdateWorkspace(std::string_view id, const WorkspaceUpdate& update,
                                    const Actor& actor);
  Result<Workspace> GetWorkspace(std::string_view id) { return store_->GetWorkspace(id); }
  Result<Page<Workspace>> ListWorkspaces(const WorkspaceFilter& filter, const PageRequest& page) {
    return store_->ListWorkspaces(filter, page);
  }
  // The key limit that applies to ws: its own, its plan's, the deployment's.
  Result<int64_t> MaxActiveKeys(const Workspace& ws);
  int64_t default_max_active() const { return options_.default_max_active; }
  // What a key of ws without a rate limit of its own is held to: its
  // workspace's, its plan's, the deployment's (nullopt: none). Bounds what a
  // managing key may hand out.
  Result<std::optional<RateLimit>> DefaultRateLimit(const Workspace& ws);
  // The rotation policy in force for ws, in days: its own, else the
  // deployment's (nullopt: none). Advice only: a due key keeps working.
  std::optional<int64_t> RotateAfterDays(const Workspace& ws) const;
  // The same for the workspace with this id (one read of it).
  Result<std::optional<int64_t>> RotateAfterDays(std::string_view workspace_id);

  // API keys.
  // A managing actor's key is bounded (core/self_service.h): restrictions
  // it leaves out are its own, and wider ones are kForbidden. Under a
  // maximum key lifetime, a key without expires_at gets the latest allowed,
  // and a later one is kInvalidRequest (as for RotateKey's replacement, and
  // for UpdateKey to a later or no expiry; imports are exempt).
  Result<CreatedKey> CreateKey(NewKeyParams params, const Actor& actor);
  Result<ApiKey> GetKey(std::string_view id) { return store_->GetKey(id); }
  Result<int64_t> CountActiveKeys(std::string_view workspace_id) {
    return store_->CountActiveKeys(workspace_id, options_.clock->Now());
  }
  // filter.rotation_due: by each workspace's rotation policy, else the
  // deployment's.
  Result<Page<ApiKey>> ListKeys(KeyFilter filter, const PageRequest& page);
  // A managing actor may not change its own scopes, restrictions, rate
  // limit, expiry or enabled state, may enable only a key it disabled, and
  // leaves the key within its bounds (kForbidden otherwise). A change that
  // brings an expired or disabled key back needs a free slot.
  Result<ApiKey> UpdateKey(std::string_view id, const KeyUpdate& update, const Actor& actor);
  // Immediate and permanent; a second call answers the first revocation.
  Result<ApiKey> RevokeKey(std::string_view id, std::string reason, const Actor& actor);
  // A new key with the old one's name, scopes, restrictions, rate limit,
  // meta and expiry (new_expires_at, when set, replaces the expiry; set to
  // nullopt: none); the old key stays valid for grace_seconds (never past
  // its own expiry), then expires. Both share one rate-limit budget.
  // Refused for a revoked or expired key, and by the slot rule (see
  // KeyStore::RotateKey): a grace may take the workspace one over its limit,
  // once per slot.
  Result<CreatedKey> RotateKey(std::string_view id, int64_t grace_seconds,
                               std::optional<std::optional<Timestamp>> new_expires_at,
                               const Actor& actor);

  // Imports up to kMaxImportBatch keys made elsewhere (core/key_import.h),
  // for a root key: each row is checked on its own and answered imported,
  // unchanged (its hash is already this key) or rejected with a reason;
  // the rows that pass go into the store in one transaction
  // (KeyStore::ImportKeys), with an audit entry per workspace. Key limits
  // do not stop an import; the answer names the workspaces over theirs.
  // dry_run: everything is checked, nothing written.
  Result<KeyImportResult> ImportKeys(std::vector<KeyImportRow> rows, bool dry_run,
                                     const Actor& actor);

  // Records that actor began exporting the hashes of the keys of a
  // workspace (empty: of every workspace).
  Status AuditKeyExport(const Actor& actor, std::string_view workspace_id);

  // Root keys ("kw_root_…").
  Result<CreatedRootKey> CreateRootKey(std::string name, const Actor& actor);
  Result<RootKey> RevokeRootKey(std::string_view id, const Actor& actor);
  Result<std::vector<RootKey>> ListRootKeys() { return store_->ListRootKeys(); }
  // The root key behind a presented credential; kUnauthorized when it is
  // malformed, unknown or revoked. Read from the store at most once a
  // second per key (a revocation elsewhere is felt within that second);
  // while the store cannot answer, a root key accepted before still is.
  Result<RootKey> AuthenticateRootKey(std::string_view secret);
  // Creates the first root key when there is none; nullopt otherwise (also
  // when another node made it first).
  Result<std::optional<CreatedRootKey>> EnsureRootKey(const Actor& actor);

  Result<std::vector<UsagePoint>> QueryUsage(const UsageQuery& query) {
    return store_->QueryUsage(query);
  }
  Result<std::vector<UsageExportRow>> ExportUsage(const UsageExportQuery& query) {
    return store_->ExportUsage(query);
  }
  // Valid verifications over the last 24 hours and 30 days, per key.
  Result<std::unordered_map<std::string, RequestCounts>> CountRequests(
      const std::vector<std::string>& ids) {
    return store_->CountRequests(ids, options_.clock->Now() / kMillisPerMinute);
  }

  Result<Page<AuditEntry>> ListAudit(const AuditFilter& filter, const PageRequest& page) {
    return store_->ListAudit(filter, page);
  }

  void AddObserver(KeyChangeObserver* observer);

  const KeyFormat& format() const { return *options_.format; }
  const KeyFormat& root_format() const { return root_format_; }

  // Checks each reported string as a key of this deployment and acts on
  // the true positives as report.policy says (core/leaks.h;
  // core/key_service_leaks.cc): one result per string, in order. An active
  // key is revoked with reason "leaked" (or only reported, with kNotify),
  // with an audit entry naming the source and URL that raises
  // api_key.leaked; a key revoked, expired or (kNotify) reported before
  // changes nothing, and its result says so. InvalidRequest for more than
  // kMaxLeakReportKeys strings, or a source or URL that is too long or has
  // control characters.
  Result<std::vector<LeakResult>> ReportLeaks(const std::vector<std::string>& keys,
                                              const LeakReport& report, const Actor& actor);

  // The short prefix of the first key in text that has this deployment's
  // format (an API key, checksum and all, or one of a legacy format, or a
  // root key), or nullopt.
  std::optional<std::string> FindKeyIn(std::string_view text) const;
  const Clock& clock() const { return *options_.clock; }

 private:
  // A new root key, inserted as the first (only when there is none) or not.
  Result<CreatedRootKey> MakeRootKey(std::string name, const Actor& actor, bool first);
  Status ValidateKeyFields(const ApiKey& key) const;
  // A row of an import as the store takes it; InvalidRequest "reason:
  // message" when it is rejected. Forgets the row's plaintext key.
  Result<ImportKeyRow> PrepareImport(KeyImportRow& row, Timestamp now, const Actor& actor) const;
  // One attempt of RotateKey; *stale when the old key changed meanwhile.
  Result<CreatedKey> RotateKeyOnce(std::string_view id, int64_t grace_seconds,
                                   std::optional<std::optional<Timestamp>> new_expires_at,
                                   const Actor& actor, bool* stale);
  // One attempt of UpdateKey; *stale when the key changed meanwhile.
  Result<ApiKey> UpdateKeyOnce(std::string_view id, const KeyUpdate& update, const Actor& actor,
                               bool* stale);
  AuditEntry MakeAudit(const Actor& actor, std::string action, std::string target,
                       std::string workspace_id, std::string details_json) const;
  void Notify(const ApiKey& key);
  void NotifyPolicy();
  // Tells webhooks that a workspace was refused a key at its limit.
  void RaiseKeyLimitReached(const Workspace& ws, int64_t max_active, const Actor& actor);

  KeyServiceOptions options_;
  KeyStore* store_;
  KeyFormat root_format_;
  Mutex observers_mu_;
  std::vector<KeyChangeObserver*> observers_ GUARDED_BY(observers_mu_);
  // Root keys that authenticated in the last kRootKeyFreshMillis of
  // monotonic time (whatever the wall clock does): a management call needs
  // no database round trip, and a revocation on another node is felt within
  // that time (on this node, at once).
  static constexpr int64_t kRootKeyFreshMillis = 1000;
  struct CachedRootKey {
    RootKey key;
    Timestamp read_at = 0;  // Clock::Monotonic
  };
  Mutex root_mu_;
  std::unordered_map<KeyHash, CachedRootKey, KeyHashHasher, KeyHashEq> root_cache_
      GUARDED_BY(root_mu_);
};

// Resolves keys straight from the store, compiling each record on each call.
class StoreKeyResolver final : public KeyResolver {
 public:
  explicit StoreKeyResolver(KeyStore* store) : store_(store) {}
  Result<KeyRef> Resolve(const KeyHash& hash) override;

 private:
  KeyStore* store_;
};

// Field checks shared by create and update.
Status ValidateName(std::string_view name);
Status ValidateScopes(const std::vector<std::string>& scopes);
Status ValidateIpAllowlist(std::vector<std::string>* entries);  // canonicalises
Status ValidateReferrerAllowlist(const std::vector<std::string>& entries);
Status ValidateEndpointAllowlist(const std::vector<std::string>& entries);
Status ValidateRateLimit(const RateLimit& limit);
Status ValidateKeyCredits(const KeyCredits& credits);
Status ValidateCostRules(const std::vector<CostRule>& rules);
Status ValidatePlan(const Plan& plan);

}  // namespace keyward

#endif  // KEYWARD_CORE_KEY_SERVICE_H_
