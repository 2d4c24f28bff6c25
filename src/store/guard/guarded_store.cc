#include "store/guard/guarded_store.h"

namespace keyward {
namespace {

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Faults that refuse changes until a probe finds storage working again.
bool Sticky(StorageFault f) { return f != StorageFault::kNone && f != StorageFault::kUnreachable; }

}  // namespace

GuardedStore::GuardedStore(GuardedStoreOptions options)
    : base_(options.base), reserve_(options.reserve), options_(std::move(options)) {}

StorageStats GuardedStore::Stats() const {
  StorageStats s;
  s.fault = fault();
  {
    MutexLock lock(&mu_);
    s.faults = faults_;
  }
  s.refused_changes = refused_.load(std::memory_order_relaxed);
  s.reserve_releases = releases_.load(std::memory_order_relaxed);
  if (reserve_ != nullptr) {
    s.reserve_bytes = reserve_->held();
    s.reserve_size = reserve_->size();
  }
  return s;
}

void GuardedStore::Observe(const Status& s) {
  if (s.fault() != StorageFault::kNone) {
    Enter(s.fault(), s.message());
  } else if (fault() == StorageFault::kUnreachable && (s.ok() || s.code() != Code::kUnavailable)) {
    // The server answered (even a refusal is an answer).
    Exit();
  }
}

void GuardedStore::Enter(StorageFault fault, const std::string& detail) {
  MutexLock lock(&mu_);
  const StorageFault before = fault_.load(std::memory_order_relaxed);
  if (before == fault) return;
  // A sticky fault is not hidden by an unreachable server (PostgreSQL's
  // disk filling, then its connections dropping): the probe settles it.
  if (fault == StorageFault::kUnreachable && Sticky(before)) return;
  fault_.store(fault, std::memory_order_release);
  ++faults_;
  next_probe_ = Steady::now() + options_.probe_every;
  // Under the lock, so that reports come in the order the fault changed.
  if (options_.on_change) options_.on_change(before, fault, detail);
}

void GuardedStore::Exit() {
  MutexLock lock(&mu_);
  const StorageFault before = fault_.load(std::memory_order_relaxed);
  if (before == StorageFault::kNone) return;
  fault_.store(StorageFault::kNone, std::memory_order_release);
  if (options_.on_change) options_.on_change(before, StorageFault::kNone, std::string());
}

template <typename Fn>
auto GuardedStore::Read(Fn&& fn) -> decltype(fn()) {
  auto r = fn();
  Observe(StatusOf(r));
  return r;
}

template <typename Fn>
auto GuardedStore::Change(Fn&& fn) -> decltype(fn()) {
  if (const StorageFault f = fault(); Sticky(f)) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return Status::Storage(
        f, "refused: storage has a fault (" + std::string(StorageFaultName(f)) + ")");
  }
  auto r = fn();
  Observe(StatusOf(r));
  return r;
}

template <typename Fn>
auto GuardedStore::EndAccess(Fn&& fn) -> decltype(fn()) {
  auto r = fn();
  const Status& s = StatusOf(r);
  if (s.fault() != StorageFault::kFull) {
    // A revocation that works says nothing about other writes (it may have
    // used the reserve): only the probe ends a sticky fault.
    if (!s.ok() || !Sticky(fault())) Observe(s);
    return r;
  }
  Enter(StorageFault::kFull, s.message());
  if (reserve_ == nullptr || !reserve_->Release()) return r;
  releases_.fetch_add(1, std::memory_order_relaxed);
  if (options_.on_reserve_released) options_.on_reserve_released(reserve_->size());
  auto again = fn();
  if (!StatusOf(again).ok()) Observe(StatusOf(again));
  return again;
}

Status GuardedStore::Probe(StorageFault f) {
  if (f == StorageFault::kFull && reserve_ != nullptr) {
    // Room for the reserve and as much again before changes are let in,
    // whether or not the reserve was spent: a small probe write can succeed
    // on a disk that is still full (in space SQLite's log already holds),
    // and the next real write would fill it at once.
    if (!reserve_->RoomToRefill()) {
      return Status::Storage(StorageFault::kFull, "still no room for the storage reserve");
    }
    KEYWARD_RETURN_IF_ERROR(reserve_->Fill());
  }
  if (f != StorageFault::kFull && f != StorageFault::kUnreachable) {
    KEYWARD_RETURN_IF_ERROR(base_->Recover());
    // The directory may be another one now (restored, remounted).
    if (reserve_ != nullptr) reserve_->Forget();
  }
  if (f == StorageFault::kUnreachable) return base_->Ping();
  return base_->ProbeWrite();
}

void GuardedStore::Check() {
  MutexLock check(&check_mu_);
  const auto now = Steady::now();
  {
    MutexLock lock(&mu_);
    if (now < next_probe_) return;
    next_probe_ = now + options_.probe_every;
  }
  const StorageFault f = fault();
  if (f == StorageFault::kNone) {
    // Faults no write has met yet (a deleted data directory, an unreadable
    // file), and a reserve that could not be made earlier.
    Observe(base_->Ping());
    if (reserve_ != nullptr && reserve_->held() < reserve_->size() && reserve_->RoomToRefill()) {
      (void)reserve_->Fill();
    }
    return;
  }
  Status s = Probe(f);
  if (s.ok()) {
    Exit();
  } else if (s.fault() != StorageFault::kNone && s.fault() != f && Sticky(s.fault())) {
    Enter(s.fault(), s.message());
  }
}

Status GuardedStore::Readiness() {
  if (const StorageFault f = fault(); f != StorageFault::kNone) {
    return Status::Storage(f, std::string(StorageFaultMessage(f)));
  }
  return Read([&] { return base_->Ping(); });
}

Status GuardedStore::Ping() {
  return Read([&] { return base_->Ping(); });
}
Status GuardedStore::ProbeWrite() { return base_->ProbeWrite(); }
Status GuardedStore::Recover() { return base_->Recover(); }
Status GuardedStore::WatchKeyChanges(std::function<void()> on_change) {
  return base_->WatchKeyChanges(std::move(on_change));
}

Status GuardedStore::InsertPlan(const Plan& plan, const AuditEntry& audit) {
  return Change([&] { return base_->InsertPlan(plan, audit); });
}
Result<Plan> GuardedStore::GetPlan(std::string_view id) {
  return Read([&] { return base_->GetPlan(id); });
}
Result<std::vector<Plan>> GuardedStore::ListPlans() {
  return Read([&] { return base_->ListPlans(); });
}
Status GuardedStore::UpdatePlan(const Plan& plan, const AuditEntry& audit) {
  return Change([&] { return base_->UpdatePlan(plan, audit); });
}

Status GuardedStore::CreateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  return Change([&] { return base_->CreateWorkspace(ws, audit); });
}
Result<Workspace> GuardedStore::GetWorkspace(std::string_view id) {
  return Read([&] { return base_->GetWorkspace(id); });
}

Result<Workspace> GuardedStore::GetWorkspaceToVerify(std::string_view id) {
  return Read([&] { return base_->GetWorkspaceToVerify(id); });
}

Result<Plan> GuardedStore::GetPlanToVerify(std::string_view id) {
  return Read([&] { return base_->GetPlanToVerify(id); });
}
Result<Page<Workspace>> GuardedStore::ListWorkspaces(const WorkspaceFilter& filter,
                                                     const PageRequest& page) {
  return Read([&] { return base_->ListWorkspaces(filter, page); });
}
Status GuardedStore::UpdateWorkspace(const Workspace& ws, const AuditEntry& audit) {
  return Change([&] { return base_->UpdateWorkspace(ws, audit); });
}

Status GuardedStore::InsertKey(const ApiKey& key, int64_t max_active, Timestamp now,
                               const AuditEntry& audit) {
  return Change([&] { return base_->InsertKey(key, max_active, now, audit); });
}
Result<ApiKey> GuardedStore::GetKey(std::string_view id) {
  return Read([&] { return base_->GetKey(id); });
}
Result<int64_t> GuardedStore::CountActiveKeys(std::string_view workspace_id, Timestamp now) {
  return Read([&] { return base_->CountActiveKeys(workspace_id, now); });
}
Result<ApiKey> GuardedStore::FindKeyByHash(const KeyHash& hash) {
  return Read([&] { return base_->FindKeyByHash(hash); });
}
Result<Page<ApiKey>> GuardedStore::ListKeys(const KeyFilter& filter, const PageRequest& page) {
  return Read([&] { return base_->ListKeys(filter, page); });
}
Status GuardedStore::UpdateKey(const ApiKey& key, int64_t max_active, Timestamp now,
                               const AuditEntry& audit, bool* stale) {
  return Change([&] { return base_->UpdateKey(key, max_active, now, audit, stale); });
}
Result<ApiKey> GuardedStore::RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                                       std::string_view reason, const AuditEntry& audit) {
  return EndAccess([&] { return base_->RevokeKey(id, at, by, reason, audit); });
}
Status GuardedStore::RotateKey(const ApiKey& replacement, std::string_view old_id,
                               Timestamp old_expires_at, int64_t max_active, Timestamp now,
                               const AuditEntry& audit, bool* stale) {
  return Change([&] {
    return base_->RotateKey(replacement, old_id, old_expires_at, max_active, now, audit, stale);
  });
}
Result<std::vector<ImportedKey>> GuardedStore::ImportKeys(const std::vector<ImportKeyRow>& rows,
                                                          const ImportAudit& audit, bool dry_run) {
  return Change([&] { return base_->ImportKeys(rows, audit, dry_run); });
}
Status GuardedStore::RecordUsage(const UsageBatch& batch) {
  return Change([&] { return base_->RecordUsage(batch); });
}
Result<std::vector<UsagePoint>> GuardedStore::QueryUsage(const UsageQuery& query) {
  return Read([&] { return base_->QueryUsage(query); });
}
Result<std::vector<UsageExportRow>> GuardedStore::ExportUsage(const UsageExportQuery& query) {
  return Read([&] { return base_->ExportUsage(query); });
}
Result<CreditLease> GuardedStore::LeaseCredits(const CreditLeaseRequest& request) {
  if (request.want <= 0) return Read([&] { return base_->LeaseCredits(request); });
  return Change([&] { return base_->LeaseCredits(request); });
}
Status GuardedStore::ReleaseCredits(std::string_view node_id,
                                    const std::vector<CreditBalanceId>& balances) {
  return Change([&] { return base_->ReleaseCredits(node_id, balances); });
}
Result<int64_t> GuardedStore::CreditsSpent(const CreditBalanceId& id) {
  return Read([&] { return base_->CreditsSpent(id); });
}
Result<std::unordered_map<std::string, RequestCounts>> GuardedStore::CountRequests(
    const std::vector<std::string>& key_ids, int64_t now_minute) {
  return Read([&] { return base_->CountRequests(key_ids, now_minute); });
}
Status GuardedStore::PruneUsage(int64_t before_minute) {
  return Change([&] { return base_->PruneUsage(before_minute); });
}

Result<std::vector<KeyChange>> GuardedStore::KeyChangesSince(int64_t seq, int limit) {
  return Read([&] { return base_->KeyChangesSince(seq, limit); });
}
Result<int64_t> GuardedStore::LatestKeyChange() {
  return Read([&] { return base_->LatestKeyChange(); });
}
Status GuardedStore::PruneKeyChanges(Timestamp before) {
  return Change([&] { return base_->PruneKeyChanges(before); });
}

Status GuardedStore::InsertRootKey(const RootKey& key, const AuditEntry& audit) {
  return Change([&] { return base_->InsertRootKey(key, audit); });
}
Status GuardedStore::InsertFirstRootKey(const RootKey& key, const AuditEntry& audit) {
  return Change([&] { return base_->InsertFirstRootKey(key, audit); });
}
Result<RootKey> GuardedStore::FindRootKeyByHash(const KeyHash& hash) {
  return Read([&] { return base_->FindRootKeyByHash(hash); });
}
Result<std::vector<RootKey>> GuardedStore::ListRootKeys() {
  return Read([&] { return base_->ListRootKeys(); });
}
Result<RootKey> GuardedStore::RevokeRootKey(std::string_view id, Timestamp at,
                                            const AuditEntry& audit) {
  return EndAccess([&] { return base_->RevokeRootKey(id, at, audit); });
}

Status GuardedStore::InsertPortalSession(const PortalSession& ps, const AuditEntry& audit) {
  return Change([&] { return base_->InsertPortalSession(ps, audit); });
}
Result<PortalSession> GuardedStore::GetPortalSession(std::string_view id) {
  return Read([&] { return base_->GetPortalSession(id); });
}
Status GuardedStore::RedeemPortalCode(const KeyHash& code_hash, Timestamp now,
                                      const WebSession& session, const AuditEntry& audit,
                                      PortalSession* found) {
  return Change([&] { return base_->RedeemPortalCode(code_hash, now, session, audit, found); });
}
Status GuardedStore::EndPortalSession(std::string_view id, Timestamp at, const AuditEntry& audit) {
  return EndAccess([&] { return base_->EndPortalSession(id, at, audit); });
}
Status GuardedStore::InsertWebSession(const WebSession& session, const AuditEntry& audit) {
  return Change([&] { return base_->InsertWebSession(session, audit); });
}
Result<WebSession> GuardedStore::FindWebSession(const KeyHash& token_hash) {
  return Read([&] { return base_->FindWebSession(token_hash); });
}
Status GuardedStore::EndWebSession(const KeyHash& token_hash, Timestamp at,
                                   const AuditEntry& audit) {
  return EndAccess([&] { return base_->EndWebSession(token_hash, at, audit); });
}
Status GuardedStore::PruneSessions(Timestamp before) {
  return Change([&] { return base_->PruneSessions(before); });
}

// ---- Webhooks: deliveries stop during a fault and resume after it ----

Status GuardedStore::InsertWebhookEndpoint(const WebhookEndpoint& ep, int max_per_owner,
                                           const AuditEntry& audit) {
  return Change([&] { return base_->InsertWebhookEndpoint(ep, max_per_owner, audit); });
}
Result<WebhookEndpoint> GuardedStore::GetWebhookEndpoint(std::string_view id) {
  return Read([&] { return base_->GetWebhookEndpoint(id); });
}
Result<std::vector<WebhookEndpoint>> GuardedStore::ListWebhookEndpoints(
    const std::optional<std::string>& workspace_id) {
  return Read([&] { return base_->ListWebhookEndpoints(workspace_id); });
}
Status GuardedStore::UpdateWebhookEndpoint(const WebhookEndpoint& ep, const AuditEntry& audit,
                                           bool* stale) {
  return Change([&] { return base_->UpdateWebhookEndpoint(ep, audit, stale); });
}
Status GuardedStore::DeleteWebhookEndpoint(std::string_view id, const AuditEntry& audit) {
  return Change([&] { return base_->DeleteWebhookEndpoint(id, audit); });
}
Result<int> GuardedStore::InsertWebhookEvents(const std::vector<WebhookEvent>& events) {
  return Change([&] { return base_->InsertWebhookEvents(events); });
}
Result<int> GuardedStore::RaiseLifecycleEvents(const LifecycleRules& rules, Timestamp now,
                                               int limit) {
  return Change([&] { return base_->RaiseLifecycleEvents(rules, now, limit); });
}
Result<std::vector<ClaimedDelivery>> GuardedStore::ClaimWebhookDeliveries(Timestamp now,
                                                                          Timestamp claim_until,
                                                                          int limit) {
  return Change([&] { return base_->ClaimWebhookDeliveries(now, claim_until, limit); });
}
Status GuardedStore::FinishWebhookDelivery(const DeliveryOutcome& outcome) {
  return Change([&] { return base_->FinishWebhookDelivery(outcome); });
}
Result<Page<WebhookDelivery>> GuardedStore::ListWebhookDeliveries(std::string_view endpoint_id,
                                                                  const PageRequest& page) {
  return Read([&] { return base_->ListWebhookDeliveries(endpoint_id, page); });
}
Result<WebhookDelivery> GuardedStore::GetWebhookDelivery(std::string_view id) {
  return Read([&] { return base_->GetWebhookDelivery(id); });
}
Status GuardedStore::RetryWebhookDelivery(std::string_view id, Timestamp now,
                                          const AuditEntry& audit) {
  return Change([&] { return base_->RetryWebhookDelivery(id, now, audit); });
}
Status GuardedStore::PruneWebhooks(Timestamp before) {
  return Change([&] { return base_->PruneWebhooks(before); });
}

Status GuardedStore::AppendAudit(const AuditEntry& entry) {
  return Change([&] { return base_->AppendAudit(entry); });
}
Result<Page<AuditEntry>> GuardedStore::ListAudit(const AuditFilter& filter,
                                                 const PageRequest& page) {
  return Read([&] { return base_->ListAudit(filter, page); });
}

}  // namespace keyward
