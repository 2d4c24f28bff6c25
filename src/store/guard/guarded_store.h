// GuardedStore: the store every part of keyward uses, wrapped around the
// engine (SQLite or PostgreSQL) to handle storage faults in one place for
// both. It
//  - learns the fault from the engine's Status (a full disk, a read-only or
//    deleted data directory, an I/O error, an unreadable file, an
//    unreachable server) and reports it once when it begins and once when
//    it ends (on_change);
//  - while a fault lasts, refuses every change at once with that fault,
//    except the changes that end access (revoking a key or a root key,
//    ending a portal or web session), which are always tried;
//  - when a revocation meets a full disk, releases the engine's reserve
//    (core/storage_reserve.h) and tries
//    once more, so that revocations commit on a full disk;
//  - recovers without a restart: Check(), called by the maintenance thread,
//    probes storage about once a second while a fault lasts (refilling the
//    reserve when there is room again, reopening the engine's files, then a
//    write), and watches a healthy store for faults no write has met yet.
// An unreachable database server is reported but never refuses a change by
// itself: the engine finds out on each call, and the first call that works
// ends it.
// Owns nothing: base and reserve (optional) must outlive it.
// Thread-safe: every method, from any thread.
#ifndef KEYWARD_STORE_GUARD_GUARDED_STORE_H_
#define KEYWARD_STORE_GUARD_GUARDED_STORE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "core/key_store.h"
#include "core/mutex.h"
#include "core/storage_reserve.h"

namespace keyward {

struct GuardedStoreOptions {
  KeyStore* base = nullptr;
  StorageReserve* reserve = nullptr;  // null: nothing held back
  // Called when the fault changes, in the order it changes (under the
  // guard's lock: it must not call the store): `before` and `now` (kNone
  // when storage works again) and the engine's own words for the cause
  // (for the operator's log: it may name paths).
  std::function<void(StorageFault before, StorageFault now, const std::string& detail)> on_change;
  // Called when the reserve was released so that a revocation could commit.
  std::function<void(uint64_t bytes)> on_reserve_released;
  // How often Check probes; tests set 0.
  std::chrono::milliseconds probe_every{1000};
};

struct StorageStats {
  StorageFault fault = StorageFault::kNone;
  uint64_t faults = 0;            // faults begun since start
  uint64_t refused_changes = 0;   // changes refused at once during a fault
  uint64_t reserve_releases = 0;  // times the reserve was spent on a revocation
  uint64_t reserve_bytes = 0;     // bytes the reserve holds now
  uint64_t reserve_size = 0;      // bytes it holds when full
};

class GuardedStore final : public KeyStore {
 public:
  explicit GuardedStore(GuardedStoreOptions options);

  // The current fault; kNone when storage works.
  StorageFault fault() const { return fault_.load(std::memory_order_acquire); }
  StorageStats Stats() const;
  // For /readyz: Ok, or the fault (or the engine's Ping failure) as a Status.
  Status Readiness();
  // Probes storage when due (see above); cheap when there is nothing to do.
  // Any thread; the maintenance thread calls it every 200 ms.
  void Check();

  Status Ping() override;
  Status ProbeWrite() override;
  Status Recover() override;
  Status WatchKeyChanges(std::function<void()> on_change) override;

  Status InsertPlan(const Plan& plan, const AuditEntry& audit) override;
  Result<Plan> GetPlan(std::string_view id) override;
  Result<std::vector<Plan>> ListPlans() override;
  Status UpdatePlan(const Plan& plan, const AuditEntry& audit) override;

  Status CreateWorkspace(const Workspace& ws, const AuditEntry& audit) override;
  Result<Workspace> GetWorkspace(std::string_view id) override;
  Result<Workspace> GetWorkspaceToVerify(std::string_view id) override;
  Result<Plan> GetPlanToVerify(std::string_view id) override;
  Result<Page<Workspace>> ListWorkspaces(const WorkspaceFilter& filter,
                                         const PageRequest& page) override;
  Status UpdateWorkspace(const Workspace& ws, const AuditEntry& audit) override;

  Status InsertKey(const ApiKey& key, int64_t max_active, Timestamp now,
                   const AuditEntry& audit) override;
  Result<ApiKey> GetKey(std::string_view id) override;
  Result<int64_t> CountActiveKeys(std::string_view workspace_id, Timestamp now) override;
  Result<ApiKey> FindKeyByHash(const KeyHash& hash) override;
  Result<Page<ApiKey>> ListKeys(const KeyFilter& filter, const PageRequest& page) override;
  Status UpdateKey(const ApiKey& key, int64_t max_active, Timestamp now, const AuditEntry& audit,
                   bool* stale) override;
  Result<ApiKey> RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                           std::string_view reason, const AuditEntry& audit) override;
  Status RotateKey(const ApiKey& replacement, std::string_view old_id, Timestamp old_expires_at,
                   int64_t max_active, Timestamp now, const AuditEntry& audit,
                   bool* stale) override;
  // An ordinary change (it ends no access): refused while a fault lasts.
  Result<std::vector<ImportedKey>> ImportKeys(const std::vector<ImportKeyRow>& rows,
                                              const ImportAudit& audit, bool dry_run) override;
  Status RecordUsage(const UsageBatch& batch) override;
  Result<std::vector<UsagePoint>> QueryUsage(const UsageQuery& query) override;
  Result<std::vector<UsageExportRow>> ExportUsage(const UsageExportQuery& query) override;
  // A read when it only reads (want 0), else a change.
  Result<CreditLease> LeaseCredits(const CreditLeaseRequest& request) override;
  Status ReleaseCredits(std::string_view node_id,
                        const std::vector<CreditBalanceId>& balances) override;
  Result<int64_t> CreditsSpent(const CreditBalanceId& id) override;
  Result<std::unordered_map<std::string, RequestCounts>> CountRequests(
      const std::vector<std::string>& key_ids, int64_t now_minute) override;
  Status PruneUsage(int64_t before_minute) override;

  Result<std::vector<KeyChange>> KeyChangesSince(int64_t seq, int limit) override;
  Result<int64_t> LatestKeyChange() override;
  Status PruneKeyChanges(Timestamp before) override;

  Status InsertRootKey(const RootKey& key, const AuditEntry& audit) override;
  Status InsertFirstRootKey(const RootKey& key, const AuditEntry& audit) override;
  Result<RootKey> FindRootKeyByHash(const KeyHash& hash) override;
  Result<std::vector<RootKey>> ListRootKeys() override;
  Result<RootKey> RevokeRootKey(std::string_view id, Timestamp at,
                                const AuditEntry& audit) override;

  Status InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) override;
  Result<PortalSession> GetPortalSession(std::string_view id) override;
  Status RedeemPortalCode(const KeyHash& code_hash, Timestamp now, const WebSession& session,
                          const AuditEntry& audit, PortalSession* found) override;
  Status EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) override;
  Status InsertWebSession(const WebSession& session, const AuditEntry& audit) override;
  Result<WebSession> FindWebSession(const KeyHash& token_hash) override;
  Status EndWebSession(const KeyHash& token_hash, Timestamp at, const AuditEntry& audit) override;
  Status PruneSessions(Timestamp before) override;

  // Webhooks.
  Status InsertWebhookEndpoint(const WebhookEndpoint& ep, int max_per_owner,
                               const AuditEntry& audit) override;
  Result<WebhookEndpoint> GetWebhookEndpoint(std::string_view id) override;
  Result<std::vector<WebhookEndpoint>> ListWebhookEndpoints(
      const std::optional<std::string>& workspace_id) override;
  Status UpdateWebhookEndpoint(const WebhookEndpoint& ep, const AuditEntry& audit,
                               bool* stale) override;
  Status DeleteWebhookEndpoint(std::string_view id, const AuditEntry& audit) override;
  Result<int> InsertWebhookEvents(const std::vector<WebhookEvent>& events) override;
  Result<int> RaiseLifecycleEvents(const LifecycleRules& rules, Timestamp now, int limit) override;
  Result<std::vector<ClaimedDelivery>> ClaimWebhookDeliveries(Timestamp now, Timestamp claim_until,
                                                              int limit) override;
  Status FinishWebhookDelivery(const DeliveryOutcome& outcome) override;
  Result<Page<WebhookDelivery>> ListWebhookDeliveries(std::string_view endpoint_id,
                                                      const PageRequest& page) override;
  Result<WebhookDelivery> GetWebhookDelivery(std::string_view id) override;
  Status RetryWebhookDelivery(std::string_view id, Timestamp now, const AuditEntry& audit) override;
  Status PruneWebhooks(Timestamp before) override;

  Status AppendAudit(const AuditEntry& entry) override;
  Result<Page<AuditEntry>> ListAudit(const AuditFilter& filter, const PageRequest& page) override;

 private:
  using Steady = std::chrono::steady_clock;

  // A read: never refused; a fault it meets is noted.
  template <typename Fn>
  auto Read(Fn&& fn) -> decltype(fn());
  // A change: refused at once while a fault lasts (but an unreachable
  // server, which each call finds out for itself).
  template <typename Fn>
  auto Change(Fn&& fn) -> decltype(fn());
  // A change that ends access: always tried; on a full disk, tried again
  // with the reserve released.
  template <typename Fn>
  auto EndAccess(Fn&& fn) -> decltype(fn());

  // What a call's Status says about storage: a fault begins (or changes),
  // or a call that worked ends an unreachable server.
  void Observe(const Status& s);
  void Enter(StorageFault fault, const std::string& detail);
  void Exit();
  // One probe while faulted; Ok when storage works again.
  Status Probe(StorageFault fault);

  KeyStore* base_;
  StorageReserve* reserve_;
  GuardedStoreOptions options_;
  std::atomic<StorageFault> fault_{StorageFault::kNone};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> releases_{0};

  mutable Mutex mu_;  // fault transitions and their counters, and the probe's timing
  uint64_t faults_ GUARDED_BY(mu_) = 0;
  Steady::time_point next_probe_ GUARDED_BY(mu_){};
  Mutex check_mu_;  // one Check at a time
};

}  // namespace keyward

#endif  // KEYWARD_STORE_GUARD_GUARDED_STORE_H_
