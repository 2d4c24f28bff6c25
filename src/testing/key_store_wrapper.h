// KeyStoreWrapper: a KeyStore that forwards every call to another one, as
// leveldb's EnvWrapper does, so a test's fault-injecting or counting store
// is one override. Owns nothing: base must outlive it.
// Thread-safe as base is.
#ifndef KEYWARD_TESTING_KEY_STORE_WRAPPER_H_
#define KEYWARD_TESTING_KEY_STORE_WRAPPER_H_

#include "core/key_store.h"

namespace keyward::testing {

class KeyStoreWrapper : public KeyStore {
 public:
  explicit KeyStoreWrapper(KeyStore* base) : base_(base) {}
  KeyStore* base() { return base_; }

  Status Ping() override { return base_->Ping(); }
  Status ProbeWrite() override { return base_->ProbeWrite(); }
  Status Recover() override { return base_->Recover(); }
  Status WatchKeyChanges(std::function<void()> on_change) override {
    return base_->WatchKeyChanges(on_change);
  }
  Status InsertPlan(const Plan& plan, const AuditEntry& audit) override {
    return base_->InsertPlan(plan, audit);
  }
  Result<Plan> GetPlan(std::string_view id) override { return base_->GetPlan(id); }
  Result<std::vector<Plan>> ListPlans() override { return base_->ListPlans(); }
  Status UpdatePlan(const Plan& plan, const AuditEntry& audit) override {
    return base_->UpdatePlan(plan, audit);
  }
  Status CreateWorkspace(const Workspace& ws, const AuditEntry& audit) override {
    return base_->CreateWorkspace(ws, audit);
  }
  Result<Workspace> GetWorkspace(std::string_view id) override { return base_->GetWorkspace(id); }
  Result<Workspace> GetWorkspaceToVerify(std::string_view id) override {
    return base_->GetWorkspaceToVerify(id);
  }
  Result<Plan> GetPlanToVerify(std::string_view id) override { return base_->GetPlanToVerify(id); }
  Result<Page<Workspace>> ListWorkspaces(const WorkspaceFilter& filter,
                                         const PageRequest& page) override {
    return base_->ListWorkspaces(filter, page);
  }
  Status UpdateWorkspace(const Workspace& ws, const AuditEntry& audit) override {
    return base_->UpdateWorkspace(ws, audit);
  }
  Status InsertKey(const ApiKey& key, int64_t max_active, Timestamp now,
                   const AuditEntry& audit) override {
    return base_->InsertKey(key, max_active, now, audit);
  }
  Result<ApiKey> GetKey(std::string_view id) override { return base_->GetKey(id); }
  Result<int64_t> CountActiveKeys(std::string_view workspace_id, Timestamp now) override {
    return base_->CountActiveKeys(workspace_id, now);
  }
  Result<ApiKey> FindKeyByHash(const KeyHash& hash) override { return base_->FindKeyByHash(hash); }
  Result<Page<ApiKey>> ListKeys(const KeyFilter& filter, const PageRequest& page) override {
    return base_->ListKeys(filter, page);
  }
  Status UpdateKey(const ApiKey& key, int64_t max_active, Timestamp now, const AuditEntry& audit,
                   bool* stale) override {
    return base_->UpdateKey(key, max_active, now, audit, stale);
  }
  Result<ApiKey> RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                           std::string_view reason, const AuditEntry& audit) override {
    return base_->RevokeKey(id, at, by, reason, audit);
  }
  Status RotateKey(const ApiKey& replacement, std::string_view old_id, Timestamp old_expires_at,
                   int64_t max_active, Timestamp now, const AuditEntry& audit,
                   bool* stale) override {
    return base_->RotateKey(replacement, old_id, old_expires_at, max_active, now, audit, stale);
  }
  Result<std::vector<ImportedKey>> ImportKeys(const std::vector<ImportKeyRow>& rows,
                                              const ImportAudit& audit, bool dry_run) override {
    return base_->ImportKeys(rows, audit, dry_run);
  }
  Status RecordUsage(const UsageBatch& batch) override { return base_->RecordUsage(batch); }
  Result<std::vector<UsagePoint>> QueryUsage(const UsageQuery& query) override {
    return base_->QueryUsage(query);
  }
  Result<std::vector<UsageExportRow>> ExportUsage(const UsageExportQuery& query) override {
    return base_->ExportUsage(query);
  }
  Result<CreditLease> LeaseCredits(const CreditLeaseRequest& request) override {
    return base_->LeaseCredits(request);
  }
  Status ReleaseCredits(std::string_view node_id,
                        const std::vector<CreditBalanceId>& balances) override {
    return base_->ReleaseCredits(node_id, balances);
  }
  Result<int64_t> CreditsSpent(const CreditBalanceId& id) override {
    return base_->CreditsSpent(id);
  }
  Result<std::unordered_map<std::string, RequestCounts>> CountRequests(
      const std::vector<std::string>& key_ids, int64_t now_minute) override {
    return base_->CountRequests(key_ids, now_minute);
  }
  Status PruneUsage(int64_t before_minute) override { return base_->PruneUsage(before_minute); }
  Result<std::vector<KeyChange>> KeyChangesSince(int64_t seq, int limit) override {
    return base_->KeyChangesSince(seq, limit);
  }
  Result<int64_t> LatestKeyChange() override { return base_->LatestKeyChange(); }
  Status PruneKeyChanges(Timestamp before) override { return base_->PruneKeyChanges(before); }
  Status InsertRootKey(const RootKey& key, const AuditEntry& audit) override {
    return base_->InsertRootKey(key, audit);
  }
  Status InsertFirstRootKey(const RootKey& key, const AuditEntry& audit) override {
    return base_->InsertFirstRootKey(key, audit);
  }
  Result<RootKey> FindRootKeyByHash(const KeyHash& hash) override {
    return base_->FindRootKeyByHash(hash);
  }
  Result<std::vector<RootKey>> ListRootKeys() override { return base_->ListRootKeys(); }
  Result<RootKey> RevokeRootKey(std::string_view id, Timestamp at,
                                const AuditEntry& audit) override {
    return base_->RevokeRootKey(id, at, audit);
  }
  Status InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) override {
    return base_->InsertPortalSession(ps, audit);
  }
  Result<PortalSession> GetPortalSession(std::string_view id) override {
    return base_->GetPortalSession(id);
  }
  Status RedeemPortalCode(const KeyHash& code_hash, Timestamp now, const WebSession& session,
                          const AuditEntry& audit, PortalSession* found) override {
    return base_->RedeemPortalCode(code_hash, now, session, audit, found);
  }
  Status EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) override {
    return base_->EndPortalSession(id, at, audit);
  }
  Status InsertWebSession(const WebSession& session, const AuditEntry& audit) override {
    return base_->InsertWebSession(session, audit);
  }
  Result<WebSession> FindWebSession(const KeyHash& token_hash) override {
    return base_->FindWebSession(token_hash);
  }
  Status EndWebSession(const KeyHash& token_hash, Timestamp at, const AuditEntry& audit) override {
    return base_->EndWebSession(token_hash, at, audit);
  }
  Status PruneSessions(Timestamp before) override { return base_->PruneSessions(before); }
  Status InsertWebhookEndpoint(const WebhookEndpoint& ep, int max_per_owner,
                               const AuditEntry& audit) override {
    return base_->InsertWebhookEndpoint(ep, max_per_owner, audit);
  }
  Result<WebhookEndpoint> GetWebhookEndpoint(std::string_view id) override {
    return base_->GetWebhookEndpoint(id);
  }
  Result<std::vector<WebhookEndpoint>> ListWebhookEndpoints(
      const std::optional<std::string>& workspace_id) override {
    return base_->ListWebhookEndpoints(workspace_id);
  }
  Status UpdateWebhookEndpoint(const WebhookEndpoint& ep, const AuditEntry& audit,
                               bool* stale) override {
    return base_->UpdateWebhookEndpoint(ep, audit, stale);
  }
  Status DeleteWebhookEndpoint(std::string_view id, const AuditEntry& audit) override {
    return base_->DeleteWebhookEndpoint(id, audit);
  }
  Result<int> InsertWebhookEvents(const std::vector<WebhookEvent>& events) override {
    return base_->InsertWebhookEvents(events);
  }
  Result<int> RaiseLifecycleEvents(const LifecycleRules& rules, Timestamp now, int limit) override {
    return base_->RaiseLifecycleEvents(rules, now, limit);
  }
  Result<std::vector<ClaimedDelivery>> ClaimWebhookDeliveries(Timestamp now, Timestamp claim_until,
                                                              int limit) override {
    return base_->ClaimWebhookDeliveries(now, claim_until, limit);
  }
  Status FinishWebhookDelivery(const DeliveryOutcome& outcome) override {
    return base_->FinishWebhookDelivery(outcome);
  }
  Result<Page<WebhookDelivery>> ListWebhookDeliveries(std::string_view endpoint_id,
                                                      const PageRequest& page) override {
    return base_->ListWebhookDeliveries(endpoint_id, page);
  }
  Result<WebhookDelivery> GetWebhookDelivery(std::string_view id) override {
    return base_->GetWebhookDelivery(id);
  }
  Status RetryWebhookDelivery(std::string_view id, Timestamp now,
                              const AuditEntry& audit) override {
    return base_->RetryWebhookDelivery(id, now, audit);
  }
  Status PruneWebhooks(Timestamp before) override { return base_->PruneWebhooks(before); }
  Status AppendAudit(const AuditEntry& entry) override { return base_->AppendAudit(entry); }
  Result<Page<AuditEntry>> ListAudit(const AuditFilter& filter, const PageRequest& page) override {
    return base_->ListAudit(filter, page);
  }

 private:
  KeyStore* base_;
};

}  // namespace keyward::testing

#endif  // KEYWARD_TESTING_KEY_STORE_WRAPPER_H_
