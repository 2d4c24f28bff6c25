#include "webhooks/worker.h"

#include <nlohmann/json.hpp>
#include <random>

#include "core/model.h"
#include "webhooks/signing.h"
#include "webhooks/target_guard.h"

namespace keyward {

namespace {

constexpr Timestamp kMaxRetryAfter = 24 * 3600 * kMillisPerSecond;

double DefaultJitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(-0.1, 0.1)(rng);
}

}  // namespace

DeliveryOutcome DecideDelivery(const ClaimedDelivery& claimed, const WebhookResponse& response,
                               Timestamp now, double jitter) {
  DeliveryOutcome o;
  o.delivery_id = claimed.delivery.id;
  o.claim_id = claimed.claim_id;
  o.attempted_at = now;
  o.next_attempt_at = now;
  o.response_status = response.status;
  o.latency_ms = response.latency_ms;
  const int status = response.status.value_or(0);
  if (status >= 200 && status < 300) {
    o.status = DeliveryStatus::kDelivered;
    return o;
  }
  o.error = response.status ? "HTTP " + std::to_string(status) : response.error;
  o.status = DeliveryStatus::kFailed;
  if (claimed.delivery.manual) return o;  // one attempt, asked for by a person
  if (status == 410) {
    o.disable_reason = "gone";
    return o;
  }
  const auto delay = RetryDelayAfter(claimed.delivery.attempts + 1);
  if (!delay) {
    o.disable_reason = "failing";
    return o;
  }
  Timestamp wait = *delay + static_cast<Timestamp>(static_cast<double>(*delay) * jitter);
  if ((status == 429 || status == 503) && response.retry_after_seconds) {
    const Timestamp asked =
        std::min(*response.retry_after_seconds * kMillisPerSecond, kMaxRetryAfter);
    wait = std::max(wait, asked);
  }
  o.status = DeliveryStatus::kPending;
  o.next_attempt_at = now + wait;
  return o;
}

WebhookWorker::WebhookWorker(WebhookWorkerOptions options) : options_(std::move(options)) {}

WebhookWorker::~WebhookWorker() { Stop(); }

void WebhookWorker::Log(std::string_view level, const std::string& message) const {
  if (options_.log) options_.log(level, message);
}

Result<int> WebhookWorker::DeliverDue() {
  const Timestamp now = options_.clock->Now();
  auto claimed =
      options_.store->ClaimWebhookDeliveries(now, now + options_.claim_millis, options_.batch);
  if (!claimed.ok()) return claimed.status();
  for (const ClaimedDelivery& c : *claimed) {
    Status s = Attempt(c);
    if (!s.ok()) {
      // The claim lapses and the delivery is attempted again: at least once.
      Log("warn", "recording a webhook delivery failed: " + s.ToString());
    }
  }
  return static_cast<int>(claimed->size());
}

Status WebhookWorker::Attempt(const ClaimedDelivery& c) {
  WebhookResponse response;
  auto url = ParseWebhookUrl(c.url);
  if (!url.ok()) {
    response.error = "url: " + url.status().message();
  } else {
    auto addresses = ResolveWebhookTarget(*url, options_.allow_private_targets);
    if (!addresses.ok()) {
      response.error = addresses.status().code() == Code::kInvalidRequest
                           ? "refused: " + url->host + " is a private address"
                           : "dns: " + addresses.status().message();
    } else {
      const Timestamp sent_at = options_.clock->Now();
      const int64_t seconds = sent_at / kMillisPerSecond;
      WebhookRequest req;
      req.url = *url;
      req.addresses = std::move(*addresses);
      req.body = c.payload;
      req.headers = {
          {"webhook-id", c.delivery.event_id},
          {"webhook-timestamp", std::to_string(seconds)},
          {"webhook-signature", SignWebhook(c.secrets, c.delivery.event_id, seconds, c.payload)}};
      response = options_.sender->Send(req);
    }
  }
  attempts_.fetch_add(1, std::memory_order_relaxed);
  const double jitter = options_.jitter ? options_.jitter() : DefaultJitter();
  DeliveryOutcome o = DecideDelivery(c, response, options_.clock->Now(), jitter);
  if (o.status == DeliveryStatus::kDelivered) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!o.disable_reason.empty()) {
    auto ep = options_.store->GetWebhookEndpoint(c.delivery.endpoint_id);
    if (!ep.ok()) return ep.status();
    nlohmann::json details = {{"reason", o.disable_reason},
                              {"delivery_id", c.delivery.id},
                              {"host", url.ok() ? url->host : std::string()}};
    if (o.response_status) details["response_status"] = *o.response_status;
    o.disable_audit =
        MakeAuditEntry(Actor{"keyward", ""}, o.attempted_at, "webhook_endpoint.disable", ep->id,
                       ep->workspace_id, details.dump());
    disabled_.fetch_add(1, std::memory_order_relaxed);
    Log("warn", "webhook endpoint " + ep->id + " disabled (" + o.disable_reason + ") after " +
                    (o.error.empty() ? std::string("a failure") : o.error));
  }
  return options_.store->FinishWebhookDelivery(o);
}

Result<int> WebhookWorker::RaiseLifecycleEvents() {
  auto n = options_.store->RaiseLifecycleEvents(options_.lifecycle, options_.clock->Now(), 1000);
  if (n.ok()) raised_.fetch_add(static_cast<uint64_t>(*n), std::memory_order_relaxed);
  return n;
}

void WebhookWorker::Start(int threads, std::chrono::milliseconds poll,
                          std::chrono::milliseconds schedule_every) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, poll] { Loop(poll); });
  threads_.emplace_back([this, schedule_every] { ScheduleLoop(schedule_every); });
}

void WebhookWorker::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  schedule_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void WebhookWorker::Wake() {
  {
    MutexLock lock(&mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void WebhookWorker::Loop(std::chrono::milliseconds poll) {
  bool failing = false;
  uint64_t seen = 0;
  while (true) {
    {
      MutexLock lock(&mu_);
      if (stop_) return;
      if (wakes_ == seen) cv_.wait_for(mu_, poll);
      if (stop_) return;
      seen = wakes_;
    }
    // Keep going while there is work; then wait.
    while (true) {
      auto n = DeliverDue();
      if (!n.ok() && !failing)
        Log("warn", "claiming webhook deliveries failed: " + n.status().ToString());
      if (n.ok() && failing) Log("info", "claiming webhook deliveries works again");
      failing = !n.ok();
      if (!n.ok() || *n == 0) break;
      MutexLock lock(&mu_);
      if (stop_) return;
    }
  }
}

Status WebhookWorker::PruneOld() {
  return options_.store->PruneWebhooks(options_.clock->Now() - kWebhookRetentionMillis);
}

void WebhookWorker::ScheduleLoop(std::chrono::milliseconds every) {
  bool failing = false;
  auto next_prune = std::chrono::steady_clock::now();
  while (true) {
    if (std::chrono::steady_clock::now() >= next_prune) {
      if (Status s = PruneOld(); !s.ok())
        Log("warn", "pruning webhook history failed: " + s.ToString());
      next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
    }
    auto n = RaiseLifecycleEvents();
    if (!n.ok() && !failing)
      Log("warn", "raising lifecycle events failed: " + n.status().ToString());
    failing = !n.ok();
    if (n.ok() && *n > 0) Wake();
    MutexLock lock(&mu_);
    if (stop_) return;
    schedule_cv_.wait_for(mu_, every);
    if (stop_) return;
  }
}

WebhookStats WebhookWorker::stats() const {
  WebhookStats s;
  s.attempts = attempts_.load(std::memory_order_relaxed);
  s.delivered = delivered_.load(std::memory_order_relaxed);
  s.failed_attempts = failed_.load(std::memory_order_relaxed);
  s.endpoints_disabled = disabled_.load(std::memory_order_relaxed);
  s.events_raised = raised_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace keyward
