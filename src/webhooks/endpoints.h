// Webhook endpoints as the API manages them: validated (a URL the target
// guard accepts, known event types), saved with a fresh signing secret that
// is shown once, changed without losing a racing change, rolled with an
// overlap during which both secrets sign, deleted; and their delivery
// history, with a way to send one delivery again. Every change is audited
// (the URL's host only: a URL's path may hold a token of the receiver's).
// Owns nothing; store and clock must outlive it. Thread-safe: every method,
// from any thread.
#ifndef KEYWARD_WEBHOOKS_ENDPOINTS_H_
#define KEYWARD_WEBHOOKS_ENDPOINTS_H_

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/key_store.h"
#include "core/model.h"

namespace keyward {

struct WebhookEndpointsOptions {
  KeyStore* store = nullptr;
  const Clock* clock = nullptr;
  bool allow_private_targets = false;
  int max_per_owner = 20;
};

struct NewWebhookEndpoint {
  std::string workspace_id;  // empty: the operator's
  std::string environment;   // empty: events of every environment
  std::string url;
  std::vector<std::string> events;  // empty: every type
  std::string description;
  bool enabled = true;
};

struct WebhookEndpointUpdate {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<std::string> description;
  std::optional<bool> enabled;
};

// The longest overlap a secret roll may give the old secret.
inline constexpr int64_t kMaxRollOverlapSeconds = 7 * 86400;

class WebhookEndpoints {
 public:
  explicit WebhookEndpoints(WebhookEndpointsOptions options) : options_(options) {}

  // The endpoint as stored, its secret included (shown this once).
  Result<WebhookEndpoint> Create(NewWebhookEndpoint params, const Actor& actor);
  Result<WebhookEndpoint> Get(std::string_view id);
  // The operator's (workspace_id empty) or a workspace's; every endpoint
  // with nullopt.
  Result<std::vector<WebhookEndpoint>> List(const std::optional<std::string>& workspace_id);
  // Re-enabling an endpoint keyward disabled clears why it did.
  Result<WebhookEndpoint> Update(std::string_view id, const WebhookEndpointUpdate& update,
                                 const Actor& actor);
  Status Delete(std::string_view id, const Actor& actor);
  // A new secret; the old one keeps signing too for overlap_seconds (0 to
  // kMaxRollOverlapSeconds). The endpoint with its new secret.
  Result<WebhookEndpoint> RollSecret(std::string_view id, int64_t overlap_seconds,
                                     const Actor& actor);

  Result<Page<WebhookDelivery>> ListDeliveries(std::string_view endpoint_id,
                                               const PageRequest& page);
  // Sends a finished delivery of this endpoint once more, now.
  Result<WebhookDelivery> RetryDelivery(std::string_view endpoint_id, std::string_view delivery_id,
                                        const Actor& actor);

  // Checks a URL as saving it would (parse and target guard).
  Status CheckUrl(const std::string& url) const;

 private:
  Result<WebhookEndpoint> UpdateOnce(std::string_view id, const WebhookEndpointUpdate& u,
                                     const Actor& actor, bool* stale);
  Result<WebhookEndpoint> RollOnce(std::string_view id, int64_t overlap_seconds, const Actor& actor,
                                   bool* stale);

  const WebhookEndpointsOptions options_;
};

// Checks an events list: known types, no repeats.
Status ValidateWebhookEvents(const std::vector<std::string>& events);

}  // namespace keyward

#endif  // KEYWARD_WEBHOOKS_ENDPOINTS_H_
