// KeyStore: where keyward keeps workspaces, keys, root keys, usage and the
// audit log. The contract belongs to core, which uses it; each engine is a
// folder of its own that implements it (store/sqlite/, store/postgres/
// next), and one suite (store/store_contract_test.cc) proves every engine
// keeps it.
//
// Contract for every engine:
//  - A mutation and its audit entry commit in one transaction, durably,
//    before the call returns. A failed call changes nothing.
//  - Calls may run at once, on any number of threads or nodes. Correctness
//    rests on each call's own transaction, never on the engine running
//    calls one at a time: limits are checked and changes made in one
//    transaction; a key update names the version it was made from.
//  - Only hashes of keys are stored; the interface never sees a full key.
//  - Lists run newest first; a page's next_cursor is empty on the last page,
//    and pages have no gaps or repeats.
//  - The change log is ordered: a reader that has seen sequence N never
//    later sees a change with a sequence below N (a change with a smaller
//    sequence that commits after a larger one would leave a revoked key in
//    some node's cache). SQLite gives this by writing one transaction at a
//    time; an engine whose sequences can commit out of order must hand out
//    only sequences below every transaction still in flight.
//  - Engine errors map to Status in one place per engine: a unique
//    violation to kConflict, a serialization failure retried inside the
//    engine, a lost connection to kUnavailable.
//
// Thread-safe: every method, from any thread.
#ifndef KEYWARD_CORE_KEY_STORE_H_
#define KEYWARD_CORE_KEY_STORE_H_

#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "core/webhook_events.h"

namespace keyward {

// A change to a key, as the change log records it for other nodes.
// One key of an import (KeyStore::ImportKeys): a key made elsewhere, known
// by its hash. id_given: the id came from the import row, so an existing key
// with the hash must have it too; otherwise the id was made for the row.
struct ImportKeyRow {
  ApiKey key;
  bool id_given = false;
};

// What an import did with one row.
enum class ImportOutcome {
  kImported,      // inserted; key_id is its id
  kUnchanged,     // the hash was already this key (key_id), nothing written
  kHashConflict,  // the hash is already another key's (key_id): never merged
  kIdConflict,    // the row's id is already a key with another hash
  kNoWorkspace,   // the row's workspace does not exist
};

struct ImportedKey {
  ImportOutcome outcome = ImportOutcome::kImported;
  std::string key_id;
};

// The audit entries an import writes, made from what it did, in its
// transaction.
using ImportAudit = std::function<std::vector<AuditEntry>(const std::vector<ImportedKey>&)>;

struct KeyChange {
  int64_t seq = 0;
  KeyHash hash{};
  // An entry with kPolicyChange for a hash says that a workspace's or a
  // plan's settings changed: drop what is cached of any.
  bool policy() const { return hash == KeyHash{}; }
};
inline constexpr KeyHash kPolicyChange{};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Whether the store can answer now (for /readyz): Ok, or Unavailable.
  virtual Status Ping() = 0;

  // Calls on_change, from a thread of the engine's own, whenever another
  // process may have changed a key (PostgreSQL: a NOTIFY, and every
  // reconnect), so that the change log is read at once instead of at the
  // next poll. Engines without such a signal do nothing: the poll still
  // finds every change. Call once, before serving.
  virtual Status WatchKeyChanges(std::function<void()> on_change) {
    (void)on_change;
    return Status::Ok();
  }

  // Writes one row no one reads and commits it durably, to learn whether
  // writes work again after a storage fault. Ok, or the fault.
  virtual Status ProbeWrite() = 0;

  // After a storage fault, reopens what the engine holds open when that is
  // what recovery needs (SQLite: its files, by path, once they are back, so
  // that a restored or remounted data directory is used without a
  // restart). Never creates a database that is not there. Ok when there is
  // nothing to do.
  virtual Status Recover() { return Status::Ok(); }

  // Plans. Inserting and updating one appends kPolicyChange to the change
  // log. kConflict on a duplicate id; kNotFound on updating a missing plan.
  virtual Status InsertPlan(const Plan& plan, const AuditEntry& audit) = 0;
  virtual Result<Plan> GetPlan(std::string_view id) = 0;
  virtual Result<std::vector<Plan>> ListPlans() = 0;  // by id
  virtual Status UpdatePlan(const Plan& plan, const AuditEntry& audit) = 0;

  // Workspaces. kInvalidRequest when plan_id is set and names no plan.
  // Updating one appends kPolicyChange to the change log.
  virtual Status CreateWorkspace(const Workspace& ws, const AuditEntry& audit) = 0;
  virtual Result<Workspace> GetWorkspace(std::string_view id) = 0;
  virtual Result<Page<Workspace>> ListWorkspaces(const WorkspaceFilter& filter,
                                                 const PageRequest& page) = 0;
  virtual Status UpdateWorkspace(const Workspace& ws, const AuditEntry& audit) = 0;

  // API keys.
  // Inserts key unless its workspace already has max_active keys occupying
  // a slot at `now` (kKeyLimitReached). NotFound when the workspace is
  // missing; Conflict on a duplicate hash.
  virtual Status InsertKey(const ApiKey& key, int64_t max_active, Timestamp now,
                           const AuditEntry& audit) = 0;
  virtual Result<ApiKey> GetKey(std::string_view id) = 0;
  // Keys of the workspace occupying a slot at now (neither revoked nor expired).
  virtual Result<int64_t> CountActiveKeys(std::string_view workspace_id, Timestamp now) = 0;
  virtual Result<ApiKey> FindKeyByHash(const KeyHash& hash) = 0;
  // What verification reads on a policy-cache miss, beside writes where the
  // engine can (SQLite's reader connections, as FindKeyByHash): it never
  // waits for a write in progress. Each sees every write that has returned,
  // and answers as GetWorkspace and GetPlan would (SQLite asks its writer
  // when a reader fails). By default GetWorkspace and GetPlan.
  virtual Result<Workspace> GetWorkspaceToVerify(std::string_view id) { return GetWorkspace(id); }
  virtual Result<Plan> GetPlanToVerify(std::string_view id) { return GetPlan(id); }
  virtual Result<Page<ApiKey>> ListKeys(const KeyFilter& filter, const PageRequest& page) = 0;
  // Writes the mutable fields (name, scopes, allow-lists, rate limit,
  // credits, meta, disabled, disabled_by, expires_at) of key, and bumps its version, if
  // the stored version is still key.version: otherwise kConflict with
  // *stale set, and nothing written (read the key again and redo the
  // change). kKeyRevoked when the key is revoked. kConflict when the key has
  // a replacement and the change would move its expiry later or away. A
  // change that brings an expired or disabled key back to work needs a
  // slot: kKeyLimitReached when the workspace's other keys occupying a slot
  // at now are max_active or more.
  virtual Status UpdateKey(const ApiKey& key, int64_t max_active, Timestamp now,
                           const AuditEntry& audit, bool* stale) = 0;
  // Revokes the key now and for good (bumping its version); on a revoked key, changes nothing and
  // answers the first revocation. Returns the key as stored after the call.
  virtual Result<ApiKey> RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                                   std::string_view reason, const AuditEntry& audit) = 0;
  // Inserts replacement and sets the old key's expires_at to old_expires_at,
  // together. The slot rule, checked in the same transaction:
  //  - kKeyRevoked when the old key is revoked; kConflict when it has
  //    expired at now, when it was rotated before (a key has at most one
  //    replacement), or when its own predecessor still works (one grace per
  //    slot);
  //  - with a grace (old_expires_at > now), kKeyLimitReached when the
  //    workspace already has more than max_active keys occupying a slot:
  //    a grace may take it one over its limit, never further.
  // The replacement is made from the old key as read: replacement.version
  // is the old key's version then, and when the stored old key has changed
  // since, kConflict with *stale set and nothing written (read again, redo).
  virtual Status RotateKey(const ApiKey& replacement, std::string_view old_id,
                           Timestamp old_expires_at, int64_t max_active, Timestamp now,
                           const AuditEntry& audit, bool* stale) = 0;
  // Imports keys made elsewhere, in one transaction, row by row in order
  // (a row sees the rows before it). For each row, when a key with its hash
  // is stored: kUnchanged if that key is of the row's workspace and
  // environment (and has the row's id, when id_given), else kHashConflict;
  // nothing is written for it either way. Otherwise kIdConflict when a key
  // has the row's id, kNoWorkspace when its workspace is missing, else the
  // key is inserted as given (with last_used_at, and revoked_at, revoked_by
  // and revoked_reason when set) and its hash appended to the change log.
  // The key limit is not checked: an import keeps every key. Then the
  // entries audit(outcomes) returns are appended. dry_run: all of that, then
  // rolled back, so the answer says what the import would do. A failed
  // call changes nothing.
  virtual Result<std::vector<ImportedKey>> ImportKeys(const std::vector<ImportKeyRow>& rows,
                                                      const ImportAudit& audit, bool dry_run) = 0;
  // Usage: adds the batch's counts and credits to what is stored and raises
  // each key's last_used_at to its time in the batch (never lowers it), in
  // one transaction. Credits spent move from batch.node_id's lease of their
  // balance to the balance's spent (a lease never goes below 0), and every
  // lease of batch.node_id is renewed to batch.lease_expires_at. A workspace balance whose spent
  // reaches a threshold of its limit (kCreditThresholds) for the first time in its period records
  // it, once, with an audit entry "workspace.credits_low" (80) or "workspace.credits_exhausted"
  // (100), actor "keyward". A batch with nothing but a node_id only renews. Not otherwise audited:
  // this is usage, not a change.
  virtual Status RecordUsage(const UsageBatch& batch) = 0;
  // Counts per bucket and code, buckets in ascending order; empty buckets
  // are left out.
  virtual Result<std::vector<UsagePoint>> QueryUsage(const UsageQuery& query) = 0;
  // Usage rows per day, key and code, for an export; see UsageExportQuery.
  virtual Result<std::vector<UsageExportRow>> ExportUsage(const UsageExportQuery& query) = 0;

  // Credits. A node leases credits of a balance and spends them on its own;
  // spending is reported with the usage (RecordUsage). In one transaction:
  // leases of other nodes past their expires_at are dropped, then, with
  // available = limit - spent - what live leases hold, the node is granted
  // min(want, max(min, available / 2)) when that is at least min and within
  // available, else nothing. So the credits spent never pass the limit on
  // any number of nodes. want 0 only reads.
  virtual Result<CreditLease> LeaseCredits(const CreditLeaseRequest& request) = 0;
  // Gives back what node_id holds of these balances (empty: of every
  // balance), so that other nodes can spend it.
  virtual Status ReleaseCredits(std::string_view node_id,
                                const std::vector<CreditBalanceId>& balances) = 0;
  // Credits spent from a balance, as flushed by every node.
  virtual Result<int64_t> CreditsSpent(const CreditBalanceId& id) = 0;
  // Valid verifications of each key, for the keys given.
  virtual Result<std::unordered_map<std::string, RequestCounts>> CountRequests(
      const std::vector<std::string>& key_ids, int64_t now_minute) = 0;
  // Drops counters of minutes before before_minute.
  virtual Status PruneUsage(int64_t before_minute) = 0;

  // The change log: every insert, update, revocation and rotation of a key
  // appends its hash, in the same transaction, so that other nodes on the
  // same database can drop what they cache.
  virtual Result<std::vector<KeyChange>> KeyChangesSince(int64_t seq, int limit) = 0;
  virtual Result<int64_t> LatestKeyChange() = 0;
  virtual Status PruneKeyChanges(Timestamp before) = 0;

  // Root keys.
  virtual Status InsertRootKey(const RootKey& key, const AuditEntry& audit) = 0;
  // Inserts key only when the store has no root key at all (revoked ones
  // count), kConflict otherwise: of several nodes starting at once on an
  // empty database, exactly one makes the first root key.
  virtual Status InsertFirstRootKey(const RootKey& key, const AuditEntry& audit) = 0;
  virtual Result<RootKey> FindRootKeyByHash(const KeyHash& hash) = 0;
  virtual Result<std::vector<RootKey>> ListRootKeys() = 0;
  virtual Result<RootKey> RevokeRootKey(std::string_view id, Timestamp at,
                                        const AuditEntry& audit) = 0;

  // Portal and console sessions (core/web_sessions.h).
  virtual Status InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) = 0;
  virtual Result<PortalSession> GetPortalSession(std::string_view id) = 0;
  // Redeems a portal code once: when the code is known, *found is its
  // portal session; unless it was used, has expired (at now) or its portal
  // session was ended, marks it used and inserts session with audit,
  // together. The portal session found fills in session's
  // portal_session_id and audit's actor, target and workspace_id.
  // kNotFound for an unknown code, kConflict when used or ended, kExpired.
  virtual Status RedeemPortalCode(const KeyHash& code_hash, Timestamp now,
                                  const WebSession& session, const AuditEntry& audit,
                                  PortalSession* found) = 0;
  // Ends a portal session: its code can no longer be redeemed, and every
  // web session made from it ends. kNotFound when there is none.
  virtual Status EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) = 0;
  virtual Status InsertWebSession(const WebSession& session, const AuditEntry& audit) = 0;
  virtual Result<WebSession> FindWebSession(const KeyHash& token_hash) = 0;
  // Signs a web session out; kNotFound when there is none.
  virtual Status EndWebSession(const KeyHash& token_hash, Timestamp at,
                               const AuditEntry& audit) = 0;
  // Drops web sessions and portal sessions that ended or expired before.
  virtual Status PruneSessions(Timestamp before) = 0;

  // Webhooks. Every call that writes an audit entry (AppendAudit and each
  // mutation above) also writes, in the same transaction, the events
  // EventsForAudit(entry) makes of it: the outbox. A worker later fans each
  // event out to the endpoints that want it, one delivery per endpoint.
  //
  // Endpoints. kConflict on a duplicate id, and when its owner
  // (the operator, or its workspace) already has max_per_owner endpoints;
  // kNotFound when workspace_id names no workspace.
  virtual Status InsertWebhookEndpoint(const WebhookEndpoint& ep, int max_per_owner,
                                       const AuditEntry& audit) = 0;
  virtual Result<WebhookEndpoint> GetWebhookEndpoint(std::string_view id) = 0;
  // The operator's (workspace_id null) or one workspace's, oldest first;
  // with all set, every endpoint.
  virtual Result<std::vector<WebhookEndpoint>> ListWebhookEndpoints(
      const std::optional<std::string>& workspace_id) = 0;
  // Writes url, events, description, enabled, disabled_reason and the
  // secrets, and bumps the version, if the stored version is still
  // ep.version (else kConflict with *stale set, nothing written).
  // kNotFound when there is none.
  virtual Status UpdateWebhookEndpoint(const WebhookEndpoint& ep, const AuditEntry& audit,
                                       bool* stale) = 0;
  // Deletes it and every delivery to it. kNotFound when there is none.
  virtual Status DeleteWebhookEndpoint(std::string_view id, const AuditEntry& audit) = 0;

  // Writes events a scheduler raised, each unless an event with its
  // dedupe_key is already stored. Returns how many were new.
  virtual Result<int> InsertWebhookEvents(const std::vector<WebhookEvent>& events) = 0;
  // Raises the time-based events (api_key.expiring, .expired, .unused,
  // .rotation_due) due at now under rules, once per key and cause (dedupe
  // keys), at most limit of each type per range of keys (the engines read
  // keys by ranges of seq, a transaction each). Returns how many it raised.
  virtual Result<int> RaiseLifecycleEvents(const LifecycleRules& rules, Timestamp now,
                                           int limit) = 0;
  // For a worker, in one transaction: fans events not yet fanned out to
  // the enabled endpoints that want them and existed when they were
  // raised (endpoints of the operator get every event, a workspace's
  // endpoints that workspace's), then claims up to limit pending
  // deliveries due at now and not claimed by anyone else, until
  // claim_until. Across nodes each delivery is claimed by one worker at a
  // time; a claim that is not finished by claim_until lapses, and the
  // delivery is claimed again (at least once, never lost).
  virtual Result<std::vector<ClaimedDelivery>> ClaimWebhookDeliveries(Timestamp now,
                                                                      Timestamp claim_until,
                                                                      int limit) = 0;
  // Writes the outcome of an attempt, if the claim is still the
  // delivery's (else Ok, nothing written: another worker owns it now).
  // With disable_reason set, also disables the endpoint and appends
  // disable_audit.
  virtual Status FinishWebhookDelivery(const DeliveryOutcome& outcome) = 0;
  // An endpoint's deliveries, newest first; the cursor is a delivery id.
  virtual Result<Page<WebhookDelivery>> ListWebhookDeliveries(std::string_view endpoint_id,
                                                              const PageRequest& page) = 0;
  virtual Result<WebhookDelivery> GetWebhookDelivery(std::string_view id) = 0;
  // Queues one more attempt of a delivery at now (manual: its failure
  // disables nothing and retries nothing). kNotFound when there is none;
  // kConflict while it is pending.
  virtual Status RetryWebhookDelivery(std::string_view id, Timestamp now,
                                      const AuditEntry& audit) = 0;
  // Drops events raised before `before` and their finished deliveries;
  // pending ones are kept.
  virtual Status PruneWebhooks(Timestamp before) = 0;

  // Audit log.
  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  virtual Result<Page<AuditEntry>> ListAudit(const AuditFilter& filter,
                                             const PageRequest& page) = 0;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_KEY_STORE_H_
