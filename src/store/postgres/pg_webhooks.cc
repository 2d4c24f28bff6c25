// The PostgreSQL engine's webhooks (KeyStore's webhook methods). Being
// written: until then every call answers Internal.
#include "store/postgres/pg_store.h"

namespace keyward {

namespace {
Status NotYet() { return Status::Internal("webhooks are not yet stored on PostgreSQL"); }
}  // namespace

Status PgStore::InsertWebhookEndpoint(const WebhookEndpoint&, int, const AuditEntry&) {
  return NotYet();
}
Result<WebhookEndpoint> PgStore::GetWebhookEndpoint(std::string_view) { return NotYet(); }
Result<std::vector<WebhookEndpoint>> PgStore::ListWebhookEndpoints(
    const std::optional<std::string>&) {
  return NotYet();
}
Status PgStore::UpdateWebhookEndpoint(const WebhookEndpoint&, const AuditEntry&, bool*) {
  return NotYet();
}
Status PgStore::DeleteWebhookEndpoint(std::string_view, const AuditEntry&) { return NotYet(); }
Result<int> PgStore::InsertWebhookEvents(const std::vector<WebhookEvent>&) { return NotYet(); }
Result<int> PgStore::RaiseLifecycleEvents(const LifecycleRules&, Timestamp, int) {
  return NotYet();
}
Result<std::vector<ClaimedDelivery>> PgStore::ClaimWebhookDeliveries(Timestamp, Timestamp, int) {
  return NotYet();
}
Status PgStore::FinishWebhookDelivery(const DeliveryOutcome&) { return NotYet(); }
Result<Page<WebhookDelivery>> PgStore::ListWebhookDeliveries(std::string_view, const PageRequest&) {
  return NotYet();
}
Result<WebhookDelivery> PgStore::GetWebhookDelivery(std::string_view) { return NotYet(); }
Status PgStore::RetryWebhookDelivery(std::string_view, Timestamp, const AuditEntry&) {
  return NotYet();
}
Status PgStore::PruneWebhooks(Timestamp) { return NotYet(); }

}  // namespace keyward
