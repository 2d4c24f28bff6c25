// keyward's composition root. Builds, once, from the configuration, the
// program that `keyward serve` runs and that the API tests and the fuzz
// harness drive: the store (chosen by `database`), the key service, the key
// cache with its change-log follower, the rate limiters, usage counting,
// the verifier, the browser sessions and the API, wired one way (store ->
// service -> cache -> verifier -> usage -> sessions -> webhooks -> API). It owns all of them and
// the background jobs (Maintenance, the webhook worker), which run only once StartBackground is
// called. Not thread-safe to open, start
// or stop; what it holds is as thread-safe as each part says.
#ifndef KEYWARD_APP_APP_H_
#define KEYWARD_APP_APP_H_

#include <chrono>
#include <memory>
#include <optional>

#include "app/maintenance.h"
#include "core/clock.h"
#include "core/credits.h"
#include "core/key_cache.h"
#include "core/key_format.h"
#include "core/key_service.h"
#include "core/key_store.h"
#include "core/policy.h"
#include "core/rate_limiter.h"
#include "core/storage_reserve.h"
#include "core/usage.h"
#include "core/verifier.h"
#include "core/web_sessions.h"
#include "limits/redis/redis_rate_limiter.h"
#include "server/api.h"
#include "server/config.h"
#include "store/guard/guarded_store.h"
#include "webhooks/endpoints.h"
#include "webhooks/sender.h"
#include "webhooks/worker.h"

namespace keyward {

struct AppOptions {
  const Clock* clock = nullptr;  // null: the system clock
  // How often the storage guard probes during a fault; tests set 0.
  std::chrono::milliseconds storage_probe_every{1000};
};

class App {
 public:
  // Opens the store and builds everything on it. InvalidRequest for a
  // configuration that cannot run (bad key format); Unavailable when the
  // store cannot be opened.
  static Result<std::unique_ptr<App>> Open(const Config& config, AppOptions options = {});
  ~App();

  // Starts following the change log from now on and the background jobs.
  Status StartBackground();
  // Stops the background jobs and writes the usage still in memory.
  void Stop();
  // Writes the usage and credits counted so far now, as the background
  // flush does every second (tests; before the jobs are started).
  Status FlushUsage();

  const Config& config() const { return config_; }
  const Clock& clock() const { return *clock_; }
  const KeyFormat& format() const { return *format_; }
  // The store every part uses: the engine behind the storage-fault guard.
  GuardedStore& store() { return *store_; }
  KeyService& service() { return *service_; }
  KeyCache& cache() { return *cache_; }
  const Verifier& verifier() const { return *verifier_; }
  UsageRecorder& usage() { return usage_; }
  CreditLedger& credits() { return *credits_; }
  PolicyCache& policies() { return *policies_; }
  WebSessions& sessions() { return *sessions_; }
  Api& api() { return *api_; }
  WebhookEndpoints& webhooks() { return *webhooks_; }
  // Delivers webhooks and raises the time-based events; its threads run
  // once StartBackground is called (tests call its passes themselves).
  WebhookWorker& webhook_worker() { return *webhook_worker_; }
  // /metrics lines of storage, usage waiting for it, and Redis.
  std::string RenderMetrics() const;

 private:
  App(const Config& config, const Clock* base, std::chrono::milliseconds probe_every)
      : config_(config),
        wall_clock_(base),
        clock_(&wall_clock_),
        probe_every_(probe_every),
        usage_(static_cast<size_t>(config.usage_buffer_rows)) {}

  // Builds the webhook endpoints service, sender and worker.
  Status OpenWebhooks();
  // Puts engine_ behind the guard, with the engine's reserve unless
  // storage.reserve_bytes is 0.
  void OpenGuard();

  Config config_;
  // The injected (or system) clock, its wall time never going back within
  // this process: expiry never revives a key when the clock is set back.
  // Everything the App builds shares it.
  NonDecreasingClock wall_clock_;
  const Clock* clock_;
  std::chrono::milliseconds probe_every_;
  std::optional<KeyFormat> format_;
  std::unique_ptr<KeyStore> engine_;  // SQLite or PostgreSQL
  // Held back for revocations on a full disk: SQLite's ballast file in
  // data_dir, PostgreSQL's table. Null with storage.reserve_bytes = 0.
  std::unique_ptr<StorageReserve> reserve_;
  std::unique_ptr<GuardedStore> store_;  // engine_ behind the fault guard
  std::unique_ptr<KeyService> service_;
  std::unique_ptr<StoreKeyResolver> backing_;
  std::unique_ptr<KeyCache> cache_;
  std::unique_ptr<ChangeFollower> follower_;
  // Workspaces' policies (plan, overrides), dropped on any change to one.
  std::unique_ptr<PolicyCache> policies_;
  struct PolicyObserver final : KeyChangeObserver {
    PolicyCache* policies = nullptr;
    void OnKeyChanged(const ApiKey&) override {}
    void OnPolicyChanged() override { policies->Clear(); }
  } policy_observer_;
  // Credits this node spends, leased from the store under its own node id.
  std::unique_ptr<CreditLedger> credits_;
  MemoryRateLimiter limiter_;
  MemoryRateLimiter failure_limiter_;
  // With `redis`: the limits every node shares, the two above their
  // fallbacks while Redis is away. Null: each node limits on its own.
  std::unique_ptr<RedisRateLimiter> redis_limiter_;
  std::unique_ptr<RedisRateLimiter> redis_failure_limiter_;
  UsageRecorder usage_;
  std::unique_ptr<Verifier> verifier_;
  std::unique_ptr<WebSessions> sessions_;
  std::unique_ptr<WebhookEndpoints> webhooks_;
  std::unique_ptr<WebhookSender> webhook_sender_;
  std::unique_ptr<WebhookWorker> webhook_worker_;
  // Wakes the webhook worker when a change made here committed.
  struct WebhookWaker final : KeyChangeObserver {
    WebhookWorker* worker = nullptr;
    void OnKeyChanged(const ApiKey&) override { worker->Wake(); }
    void OnPolicyChanged() override {}
  } webhook_waker_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Maintenance> maintenance_;
  // The store's change signal reaches maintenance_ through this, which
  // Stop empties first: the store's thread may outlive maintenance_.
  struct FollowerWaker {
    Mutex mu;
    Maintenance* target GUARDED_BY(mu) = nullptr;
  };
  std::shared_ptr<FollowerWaker> waker_ = std::make_shared<FollowerWaker>();
};

}  // namespace keyward

#endif  // KEYWARD_APP_APP_H_
