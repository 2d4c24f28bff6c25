// The PostgreSQL engine of KeyStore, for several keyward nodes on one
// database. Every call runs in its own transaction on a pooled connection
// (database_pool_size), at PostgreSQL's default durability (a commit is
// flushed before it returns, synchronous_commit = on). Numbered migrations
// run at Open under an advisory lock, so nodes starting together migrate
// once.
//
// How it keeps the contract across nodes:
//  - the key limit and the slot rule: the workspace row is locked (FOR
//    UPDATE) before keys are counted, and a key row before it is changed;
//  - the change log: appends take one transaction-scoped advisory lock, so
//    sequences commit in order, and each change sends NOTIFY in its
//    transaction; WatchKeyChanges LISTENs on a connection of its own;
//  - imports: an import takes the change log's lock before it reads, so
//    imports run one at a time and each sees every one before it;
//  - usage: upserts that add to what is stored;
//  - credits: a balance's row is locked (FOR UPDATE) before its leases are
//    summed and one granted, so that nodes leasing at once never grant
//    more than the limit;
//  - webhooks: a worker fans events out and claims deliveries with
//    FOR UPDATE SKIP LOCKED, so nodes working at once take disjoint rows
//    (UNIQUE (event_seq, endpoint_id) is the backstop); endpoints are
//    counted under the workspace row's lock, or for the operator's an
//    advisory lock;
//  - serialization failures and deadlocks are retried here; a lost
//    connection is Unavailable, and the next call reconnects.
// Messages never carry the connection string's password.
//
// Thread-safe: every method, from any thread.
#ifndef KEYWARD_STORE_POSTGRES_PG_STORE_H_
#define KEYWARD_STORE_POSTGRES_PG_STORE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/key_store.h"
#include "store/postgres/pg_connection.h"

namespace keyward {

class PgStore final : public KeyStore {
 public:
  // Connects to conninfo (a postgres:// URI or libpq key=value pairs) and
  // brings the schema up to date. Unavailable when the database cannot be
  // reached; InvalidRequest when conninfo cannot be read.
  static Result<std::unique_ptr<PgStore>> Open(const std::string& conninfo, int pool_size);
  ~PgStore() override;

  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  // The database as logs may name it: no password.
  const std::string& display_name() const { return pool_.info().display; }
  static int LatestSchemaVersion();
  Result<int> SchemaVersion();

  Status Ping() override;
  Status ProbeWrite() override;
  Status WatchKeyChanges(std::function<void()> on_change) override;

  // Plans: store/postgres/pg_plans.cc.
  Status InsertPlan(const Plan& plan, const AuditEntry& audit) override;
  Result<Plan> GetPlan(std::string_view id) override;
  Result<std::vector<Plan>> ListPlans() override;
  Status UpdatePlan(const Plan& plan, const AuditEntry& audit) override;

  Status CreateWorkspace(const Workspace& ws, const AuditEntry& audit) override;
  Result<Workspace> GetWorkspace(std::string_view id) override;
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
  // store/postgres/pg_import.cc. audit runs in the import's transaction,
  // which holds the change log's lock: it must not call the store, and it
  // runs again when the transaction is retried.
  Result<std::vector<ImportedKey>> ImportKeys(const std::vector<ImportKeyRow>& rows,
                                              const ImportAudit& audit, bool dry_run) override;
  // Usage: store/postgres/pg_usage.cc; credits: store/postgres/pg_credits.cc.
  Status RecordUsage(const UsageBatch& batch) override;
  Result<std::vector<UsagePoint>> QueryUsage(const UsageQuery& query) override;
  Result<std::vector<UsageExportRow>> ExportUsage(const UsageExportQuery& query) override;
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

  // Sessions: store/postgres/pg_sessions.cc.
  Status InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) override;
  Result<PortalSession> GetPortalSession(std::string_view id) override;
  Status RedeemPortalCode(const KeyHash& code_hash, Timestamp now, const WebSession& session,
                          const AuditEntry& audit, PortalSession* found) override;
  Status EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) override;
  Status InsertWebSession(const WebSession& session, const AuditEntry& audit) override;
  Result<WebSession> FindWebSession(const KeyHash& token_hash) override;
  Status EndWebSession(const KeyHash& token_hash, Timestamp at, const AuditEntry& audit) override;
  Status PruneSessions(Timestamp before) override;

  // Webhooks: store/postgres/pg_webhooks.cc.
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

  // For the engine's own files (sessions, the copier): fn on a pooled
  // connection in one transaction, run again when PostgreSQL asks for a
  // retry (serialization failure, deadlock).
  using TxFn = std::function<Status(pg_internal::PgConnection&)>;
  Status Transact(const TxFn& fn);
  // fn on a pooled connection, no transaction of its own.
  Status WithConnection(const TxFn& fn);
  // The same, for a read that answers a value: fn's answer, or why no
  // connection could be had.
  template <typename T, typename Fn>
  Result<T> Read(Fn fn) {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    return fn(**lease);
  }
  // Appends e to the audit log in c's transaction, with the webhook events
  // EventsForAudit(e) makes of it (the outbox).
  static Status InsertAudit(pg_internal::PgConnection& c, const AuditEntry& e);
  // RecordUsage's credits, in c's transaction: spends, their thresholds and
  // the node's leases (store/postgres/pg_credits.cc).
  static Status RecordCredits(pg_internal::PgConnection& c, const UsageBatch& batch);

 private:
  PgStore(pg_internal::ConnInfo info, int pool_size) : pool_(std::move(info), pool_size) {}

  Status Migrate();
  void ListenLoop(std::function<void()> on_change);

  pg_internal::PgPool pool_;
  std::atomic<bool> stop_{false};
  std::thread listener_;
};

}  // namespace keyward

#endif  // KEYWARD_STORE_POSTGRES_PG_STORE_H_
