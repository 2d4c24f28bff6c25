// The delivery worker: never on the request path. Each pass claims the
// deliveries that are due (KeyStore::ClaimWebhookDeliveries: across nodes a
// delivery is claimed by one worker at a time), signs and sends each
// (Standard Webhooks headers, the target guard checked again on the
// addresses of the moment), and records the outcome: delivered on a 2xx;
// on anything else another attempt on the retry schedule, with jitter and
// no sooner than a 429's or 503's Retry-After; the endpoint disabled on a
// 410, or once the schedule is exhausted, with an audit entry that raises
// webhook_endpoint.disabled. The scheduler pass raises the time-based
// events. Time is the injected clock's, so tests move it.
//
// Owns its threads (Start/Stop); not the store, clock or sender, which must
// outlive it. Thread-safe: DeliverDue and RaiseLifecycleEvents may run on
// several threads at once (claims keep them apart); Start and Stop from one.
#ifndef KEYWARD_WEBHOOKS_WORKER_H_
#define KEYWARD_WEBHOOKS_WORKER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/key_store.h"
#include "core/mutex.h"
#include "core/webhook_events.h"
#include "webhooks/sender.h"

namespace keyward {

struct WebhookWorkerOptions {
  KeyStore* store = nullptr;
  const Clock* clock = nullptr;
  WebhookSender* sender = nullptr;
  bool allow_private_targets = false;
  // Deliveries claimed by one thread at a time. Each claim must outlast the
  // sends of its whole batch (claim_millis), so the default is one: a
  // thread claims, sends and records one delivery, then the next.
  int batch = 1;
  // How long a claim holds: longer than a send may take.
  Timestamp claim_millis = 60'000;
  LifecycleRules lifecycle;
  // Where the worker reports (level, message); never given a secret.
  std::function<void(std::string_view level, const std::string& message)> log;
  // Jitter in [-0.1, 0.1] of a retry's delay; tests fix it.
  std::function<double()> jitter;
};

// How long delivery history is kept.
inline constexpr Timestamp kWebhookRetentionMillis = 30LL * 86'400'000;

struct WebhookStats {
  uint64_t attempts = 0;
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t endpoints_disabled = 0;
  uint64_t events_raised = 0;  // by the scheduler
};

// What an attempt's answer means for its delivery at now (pure).
DeliveryOutcome DecideDelivery(const ClaimedDelivery& claimed, const WebhookResponse& response,
                               Timestamp now, double jitter);

class WebhookWorker {
 public:
  explicit WebhookWorker(WebhookWorkerOptions options);
  ~WebhookWorker();

  // One pass: claims what is due now and attempts each. Returns how many
  // attempts were made.
  Result<int> DeliverDue();
  // Raises the time-based events due now. Returns how many.
  Result<int> RaiseLifecycleEvents();

  // Drops the history (events and finished deliveries) of more than
  // kWebhookRetentionMillis ago; the scheduler thread does it hourly.
  Status PruneOld();

  // Starts `threads` delivery threads, each passing every poll (and at
  // once after Wake), and one scheduler thread passing every
  // schedule_every.
  void Start(int threads, std::chrono::milliseconds poll, std::chrono::milliseconds schedule_every);
  // Stops the threads; an attempt under way finishes first (its timeout
  // bounds the wait).
  void Stop();
  // Something was written to the outbox: look now.
  void Wake();

  WebhookStats stats() const;

 private:
  // Sends one claimed delivery and records what came of it.
  Status Attempt(const ClaimedDelivery& claimed);
  void Log(std::string_view level, const std::string& message) const;
  void Loop(std::chrono::milliseconds poll);
  void ScheduleLoop(std::chrono::milliseconds every);

  const WebhookWorkerOptions options_;
  std::atomic<uint64_t> attempts_{0}, delivered_{0}, failed_{0}, disabled_{0}, raised_{0};

  Mutex mu_;
  std::condition_variable_any cv_;           // delivery threads wait here
  std::condition_variable_any schedule_cv_;  // the scheduler waits here
  bool stop_ GUARDED_BY(mu_) = false;
  uint64_t wakes_ GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

}  // namespace keyward

#endif  // KEYWARD_WEBHOOKS_WORKER_H_
