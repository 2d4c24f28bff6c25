// The SQLite engine of KeyStore: one file, data_dir/keyward.db, in WAL mode
// with synchronous=FULL, so a write is on disk before the call returns.
// Numbered migrations (PRAGMA user_version) run on Open.
//
// Thread-safe: one connection behind a mutex; SQLite's own locking keeps
// other processes on the same file consistent.
#ifndef KEYWARD_STORE_SQLITE_SQLITE_STORE_H_
#define KEYWARD_STORE_SQLITE_SQLITE_STORE_H_

#include <array>
#include <memory>
#include <string>

#include "core/key_store.h"
#include "core/mutex.h"

struct sqlite3;
struct sqlite3_stmt;

namespace keyward {

class SqliteStore final : public KeyStore {
 public:
  // Opens (creating if needed, mode 0600) the database at path and brings
  // its schema up to date.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The schema version this build writes.
  static int LatestSchemaVersion();
  // The schema version of the open file.
  Result<int> SchemaVersion();
  Status Ping() override;
  Status ProbeWrite() override;
  // Reopens the file by path (never creating it): after the data directory
  // was restored, remounted or made writable again.
  Status Recover() override;
  // "ok" when PRAGMA integrity_check passes, else its first complaint.
  Result<std::string> IntegrityCheck();

  // Plans: store/sqlite/sqlite_plans.cc.
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
  Result<Workspace> GetWorkspaceToVerify(std::string_view id) override;
  Result<Plan> GetPlanToVerify(std::string_view id) override;
  Result<Page<ApiKey>> ListKeys(const KeyFilter& filter, const PageRequest& page) override;
  Status UpdateKey(const ApiKey& key, int64_t max_active, Timestamp now, const AuditEntry& audit,
                   bool* stale) override;
  Result<ApiKey> RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                           std::string_view reason, const AuditEntry& audit) override;
  Status RotateKey(const ApiKey& replacement, std::string_view old_id, Timestamp old_expires_at,
                   int64_t max_active, Timestamp now, const AuditEntry& audit,
                   bool* stale) override;
  // store/sqlite/sqlite_import.cc. audit runs under the store's lock: it
  // must not call the store.
  Result<std::vector<ImportedKey>> ImportKeys(const std::vector<ImportKeyRow>& rows,
                                              const ImportAudit& audit, bool dry_run) override;
  // Usage: store/sqlite/sqlite_usage.cc; credits: store/sqlite/sqlite_credits.cc.
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

  // Sessions: store/sqlite/sqlite_sessions.cc.
  Status InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) override;
  Result<PortalSession> GetPortalSession(std::string_view id) override;
  Status RedeemPortalCode(const KeyHash& code_hash, Timestamp now, const WebSession& session,
                          const AuditEntry& audit, PortalSession* found) override;
  Status EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) override;
  Status InsertWebSession(const WebSession& session, const AuditEntry& audit) override;
  Result<WebSession> FindWebSession(const KeyHash& token_hash) override;
  Status EndWebSession(const KeyHash& token_hash, Timestamp at, const AuditEntry& audit) override;
  Status PruneSessions(Timestamp before) override;

  // Webhooks: store/sqlite/sqlite_webhooks.cc.
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
  SqliteStore(sqlite3* db, std::string path) : path_(std::move(path)), db_(db) {}

  Status Migrate() REQUIRES(mu_);
  Status OpenReaders(const std::string& path);
  Status Exec(const char* sql) REQUIRES(mu_);
  // Inserts the audit entry and the events it raises (the outbox).
  Status InsertAuditLocked(const AuditEntry& entry) REQUIRES(mu_);
  // Inserts an event unless one with its dedupe key is stored; *inserted
  // (optional) says which.
  Status InsertEventLocked(const WebhookEvent& event, bool* inserted) REQUIRES(mu_);
  // Makes the deliveries of events not yet fanned out.
  Status FanOutLocked() REQUIRES(mu_);
  Status InsertKeyLocked(const ApiKey& key) REQUIRES(mu_);
  Status InsertRootKeyLocked(const RootKey& key) REQUIRES(mu_);
  Status InsertWebSessionLocked(const WebSession& session) REQUIRES(mu_);
  Status LogKeyChangeLocked(const KeyHash& hash, Timestamp at) REQUIRES(mu_);
  Status TouchKeysLocked(const std::vector<std::pair<std::string, Timestamp>>& last_used)
      REQUIRES(mu_);
  // RecordUsage's credits: spends, their thresholds and the node's leases.
  Status RecordCreditsLocked(const UsageBatch& batch) REQUIRES(mu_);
  // Refuses a plan_id that names no plan (empty names none).
  Status CheckPlanLocked(const std::string& plan_id) REQUIRES(mu_);
  Result<ApiKey> GetKeyLocked(std::string_view id) REQUIRES(mu_);
  Result<int64_t> CountActiveKeysLocked(std::string_view workspace_id, Timestamp now) REQUIRES(mu_);

  const std::string path_;
  Mutex mu_;
  sqlite3* db_ GUARDED_BY(mu_);

  // Read-only connections for what verification reads on a cache miss (a
  // key by hash, its workspace and plan), so that they run beside each
  // other and beside writes (WAL readers do not block): a verification never
  // waits for the writer's mutex, whatever the writer is doing (a usage
  // flush, a webhook fan-out of a million events). Each statement reads
  // the last committed state, so a write that has returned is seen. Write
  // routes read back through the writer, whose cache holds what they wrote.
  struct Reader {
    Mutex mu;
    sqlite3* db GUARDED_BY(mu) = nullptr;
    sqlite3_stmt* find_by_hash GUARDED_BY(mu) = nullptr;
    sqlite3_stmt* workspace_by_id GUARDED_BY(mu) = nullptr;
    sqlite3_stmt* plan_by_id GUARDED_BY(mu) = nullptr;
    void Close() REQUIRES(mu);
  };
  // This thread's reader: each thread keeps to one; more threads than
  // readers share them.
  Reader& MyReader();
  // One row by key through this thread's reader, with its prepared
  // statement stmt; row_to reads it. not_found when there is none; what
  // names the read in a storage error.
  template <typename T, typename Key, typename RowTo>
  Result<T> ReadOneOnReader(sqlite3_stmt* Reader::*stmt, const Key& key, RowTo row_to,
                            const char* what, std::string_view not_found);
  static constexpr size_t kReaders = 4;
  std::array<Reader, kReaders> readers_;
};

}  // namespace keyward

#endif  // KEYWARD_STORE_SQLITE_SQLITE_STORE_H_
