#include "app/app.h"

#include <filesystem>

#include "app/maintenance.h"
#include "app/open_store.h"
#include "core/random.h"
#include "core/redact.h"
#include "server/log.h"
#include "server/metrics.h"
#include "store/guard/disk_reserve.h"
#include "store/postgres/pg_reserve.h"

namespace keyward {

Result<std::unique_ptr<App>> App::Open(const Config& config, AppOptions options) {
  std::unique_ptr<App> app(new App(config,
                                   options.clock != nullptr ? options.clock : &SystemClock::Get(),
                                   options.storage_probe_every));
  auto format =
      KeyFormat::Create(config.product_prefix, config.environments, config.legacy_formats);
  if (!format.ok()) return Status::InvalidRequest(format.status().message());
  app->format_.emplace(std::move(*format));
  // Logs and error bodies cut keys of the legacy shapes as they cut native ones.
  RedactLegacyKeys(app->format_->legacy());
  auto store = OpenStore(config);
  if (!store.ok()) return store.status();
  app->engine_ = std::move(*store);
  app->OpenGuard();

  std::optional<RateLimit> default_rate_limit;
  if (config.default_rate_limit > 0) {
    default_rate_limit = RateLimit{config.default_rate_limit, config.default_rate_period_seconds};
  }
  KeyServiceOptions so;
  so.store = app->store_.get();
  so.format = &*app->format_;
  so.clock = app->clock_;
  so.default_max_active = config.max_active_per_workspace;
  so.default_rate_limit = default_rate_limit;
  so.default_plan_id = config.DefaultPlanId();
  so.rotate_after_days = config.rotate_after_days;
  so.max_key_lifetime_days = config.max_key_lifetime_days;
  app->service_ = std::make_unique<KeyService>(so);
  if (Status s = app->service_->ApplyConfigPlans(config.plans); !s.ok()) {
    return Status(s.code(), "cannot store the plans of [plans]: " + s.message());
  }

  app->backing_ = std::make_unique<StoreKeyResolver>(app->store_.get());
  app->cache_ = std::make_unique<KeyCache>(app->backing_.get(), config.cache_max_keys);
  app->service_->AddObserver(app->cache_.get());
  app->policies_ = std::make_unique<PolicyCache>(
      app->store_.get(), static_cast<size_t>(std::max<int64_t>(config.cache_max_keys / 8, 1024)));
  app->policy_observer_.policies = app->policies_.get();
  app->service_->AddObserver(&app->policy_observer_);
  app->follower_ = std::make_unique<ChangeFollower>(app->store_.get(), app->cache_.get(),
                                                    [p = app->policies_.get()] { p->Clear(); });
  CreditLedgerOptions co;
  co.store = app->store_.get();
  co.clock = app->clock_;
  co.node_id = NewId("node");
  app->credits_ = std::make_unique<CreditLedger>(co);

  RateLimiter* rate_limiter = &app->limiter_;
  RateLimiter* failure_limiter = &app->failure_limiter_;
  if (!config.redis.empty()) {
    auto mode = ParseRedisFailureMode(config.redis_failure_mode);
    if (!mode.ok()) return mode.status();
    auto make = [&](const char* name, std::string prefix, MemoryRateLimiter* fallback,
                    bool peek_from_refusals) -> Result<std::unique_ptr<RedisRateLimiter>> {
      RedisRateLimiterOptions ro;
      ro.peek_from_refusals = peek_from_refusals;
      ro.url = config.redis;
      ro.failure_mode = *mode;
      ro.key_prefix = std::move(prefix);  // the two limiters never share buckets
      ro.fallback = fallback;
      ro.on_state_change = [name, mode = config.redis_failure_mode](bool up,
                                                                    const std::string& why) {
        LogLine(up ? "info" : "warn",
                up ? "redis is back: limits are shared by every node again"
                   : "redis is unreachable: limits follow redis_failure_mode until it returns")
            .Str("limiter", name)
            .Str("redis_failure_mode", mode)
            .Str("why", why)
            .Emit();
      };
      return RedisRateLimiter::Create(std::move(ro));
    };
    auto keys = make("keys", "kw:rl:key:", &app->limiter_, false);
    if (!keys.ok()) return keys.status();
    // Asked before every verification: from this node's memory of refusals,
    // so that a good key costs no round trip to Redis.
    auto ips = make("failed_verifications", "kw:rl:ip:", &app->failure_limiter_, true);
    if (!ips.ok()) return ips.status();
    app->redis_limiter_ = std::move(*keys);
    app->redis_failure_limiter_ = std::move(*ips);
    // Unreachable at start: logged through on_state_change, not fatal.
    (void)app->redis_limiter_->Ping();
    (void)app->redis_failure_limiter_->Ping();
    rate_limiter = app->redis_limiter_.get();
    failure_limiter = app->redis_failure_limiter_.get();
  }

  VerifierOptions vo;
  vo.format = &*app->format_;
  vo.accept_environments = config.accept_environments;
  vo.clock = app->clock_;
  vo.resolver = app->cache_.get();
  vo.rate_limiter = rate_limiter;
  vo.default_rate_limit = default_rate_limit;
  if (config.failed_verifications_per_ip > 0) {
    vo.failure_limiter = failure_limiter;
    vo.failure_limit = RateLimit{config.failed_verifications_per_ip, 60};
  }
  vo.policies = app->policies_.get();
  vo.credits = app->credits_.get();
  vo.usage = &app->usage_;
  app->verifier_ = std::make_unique<Verifier>(vo);

  WebSessionOptions wo;
  wo.code_ttl_seconds = config.portal_code_ttl_seconds;
  wo.session_ttl_seconds = config.portal_session_ttl_seconds;
  wo.environments = config.environments;
  app->sessions_ = std::make_unique<WebSessions>(app->store_.get(), app->clock_, wo);

  KEYWARD_RETURN_IF_ERROR(app->OpenWebhooks());

  ApiOptions ao;
  ao.webhooks = app->webhooks_.get();
  ao.wake_webhooks = [w = app->webhook_worker_.get()] { w->Wake(); };
  ao.leak_policy = config.leaks_action == "notify" ? LeakPolicy::kNotify : LeakPolicy::kRevoke;
  ao.github_keys = config.leaks_github_keys;
  ao.service = app->service_.get();
  ao.verifier = app->verifier_.get();
  ao.usage_retention_days = config.usage_retention_days;
  ao.sessions = app->sessions_.get();
  ao.pages.public_url = config.EffectivePublicUrl();
  ao.pages.public_url_configured = !config.public_url.empty();
  ao.pages.product_name = config.portal_product_name;
  ao.pages.logo_url = config.portal_logo_url;
  ao.pages.accent_color = config.portal_accent_color;
  ao.pages.support_url = config.portal_support_url;
  ao.pages.frame_ancestors = config.portal_frame_ancestors;
  ao.pages.session_ttl_seconds = config.portal_session_ttl_seconds;
  ao.cache = app->cache_.get();
  ao.credits = app->credits_.get();
  ao.policies = app->policies_.get();
  std::vector<CidrBlock> trusted;
  for (const auto& t : config.trusted_proxies) {
    auto block = CidrBlock::Parse(t);
    if (!block.ok()) return Status::InvalidRequest("trusted_proxies: " + block.status().message());
    trusted.push_back(*block);
  }
  ao.trusted_proxies = TrustedProxies(std::move(trusted));
  GuardedStore* guarded = app->store_.get();
  ao.ready = [guarded] { return guarded->Readiness(); };
  ao.extra_metrics = [a = app.get()] { return a->RenderMetrics(); };
  app->api_ = std::make_unique<Api>(ao);
  return app;
}

App::~App() { Stop(); }

void App::OpenGuard() {
  const auto reserve_bytes = static_cast<uint64_t>(config_.storage_reserve_bytes);
  if (reserve_bytes > 0 && config_.database.empty()) {
    reserve_ = std::make_unique<DiskReserve>(
        (std::filesystem::path(config_.data_dir) / "keyward.reserve").string(), reserve_bytes);
  } else if (reserve_bytes > 0) {
    reserve_ = std::make_unique<PgReserve>(static_cast<PgStore*>(engine_.get()), reserve_bytes);
  }
  if (reserve_ != nullptr) {
    if (Status s = reserve_->Fill(); !s.ok()) {
      // Not fatal: the guard makes it once the disk has room.
      LogLine("warn", "cannot hold the storage reserve yet; revocations on a full disk need it")
          .Str("error", s.message())
          .Emit();
    }
  }
  GuardedStoreOptions go;
  go.base = engine_.get();
  go.probe_every = probe_every_;
  go.reserve = reserve_.get();
  go.on_change = [](StorageFault before, StorageFault now, const std::string& detail) {
    if (now != StorageFault::kNone) {
      LogLine("error", "storage fault: " + std::string(StorageFaultMessage(now)))
          .Str("fault", StorageFaultName(now))
          .Str("detail", detail)
          .Emit();
    } else {
      LogLine("info", "storage works again: changes are accepted")
          .Str("fault_ended", StorageFaultName(before))
          .Emit();
    }
  };
  go.on_reserve_released = [](uint64_t bytes) {
    LogLine("warn", "the disk is full: released the storage reserve so that a revocation commits")
        .Int("bytes", static_cast<int64_t>(bytes))
        .Emit();
  };
  store_ = std::make_unique<GuardedStore>(std::move(go));
}

std::string App::RenderMetrics() const {
  std::string out;
  auto line = [&out](const char* name, const char* type, const char* help, uint64_t v) {
    AppendMetric(&out, name, type, help, v);
  };
  const StorageStats st = store_->Stats();
  line("keyward_store_up", "gauge", "1 when storage takes changes, 0 during a storage fault.",
       st.fault == StorageFault::kNone ? 1 : 0);
  out +=
      "# HELP keyward_storage_fault 1 for the storage fault now in effect (label fault).\n"
      "# TYPE keyward_storage_fault gauge\n";
  for (int i = 1; i < kStorageFaultCount; ++i) {
    const auto f = static_cast<StorageFault>(i);
    out += "keyward_storage_fault{fault=\"" + std::string(StorageFaultName(f)) + "\"} " +
           (st.fault == f ? "1\n" : "0\n");
  }
  line("keyward_storage_faults_total", "counter", "Storage faults begun since start.", st.faults);
  line("keyward_storage_refused_changes_total", "counter",
       "Changes refused at once because of a storage fault.", st.refused_changes);
  line("keyward_storage_reserve_bytes", "gauge",
       "Bytes held back now for revocations on a full disk (storage.reserve_bytes).",
       st.reserve_bytes);
  line("keyward_storage_reserve_releases_total", "counter",
       "Times the reserve was released so that a revocation could commit on a full disk.",
       st.reserve_releases);
  const UsageStats us = usage_.Stats();
  line("keyward_usage_pending_rows", "gauge",
       "Usage rows waiting in memory for storage to take them.", us.pending_rows);
  line("keyward_usage_dropped_total", "counter",
       "Verifications whose usage count was dropped (past usage_buffer_rows during a storage "
       "fault).",
       us.dropped);
  line("keyward_clock_jumps_total", "counter",
       "Jumps of the wall clock of 2 s or more (forward or back) since start.",
       maintenance_ ? maintenance_->clock_jumps() : 0);
  line("keyward_clock_held_back_milliseconds", "gauge",
       "How far the system clock is behind the latest time keyward has used (after a jump "
       "back); expiry holds still meanwhile.",
       static_cast<uint64_t>(wall_clock_.HeldBackMillis()));
  const WebhookStats wh = webhook_worker_->stats();
  line("keyward_webhook_attempts_total", "counter", "Webhook deliveries attempted by this node.",
       wh.attempts);
  line("keyward_webhook_delivered_total", "counter",
       "Webhook attempts the receiver answered with 2xx.", wh.delivered);
  line("keyward_webhook_failed_attempts_total", "counter",
       "Webhook attempts that failed (an error status, a timeout, no connection).",
       wh.failed_attempts);
  line("keyward_webhook_endpoints_disabled_total", "counter",
       "Webhook endpoints this node disabled (410 Gone, or every retry failed).",
       wh.endpoints_disabled);
  line("keyward_webhook_scheduled_events_total", "counter",
       "Time-based events (expiring, expired, unused, rotation due) this node raised.",
       wh.events_raised);
  if (redis_limiter_) {
    const auto keys = redis_limiter_->Stats();
    const auto ips = redis_failure_limiter_->Stats();
    line("keyward_redis_up", "gauge", "1 when Redis answers the shared rate limits, else 0.",
         keys.up && ips.up ? 1 : 0);
    line("keyward_redis_decisions_total", "counter", "Rate-limit decisions made with Redis.",
         keys.decisions + ips.decisions);
    line("keyward_redis_fallback_decisions_total", "counter",
         "Rate-limit decisions made without Redis (redis_failure_mode applied).",
         keys.fallback_decisions + ips.fallback_decisions);
    line("keyward_redis_errors_total", "counter", "Redis calls that failed.",
         keys.errors + ips.errors);
  }
  return out;
}

Status App::OpenWebhooks() {
  WebhookEndpointsOptions eo;
  eo.store = store_.get();
  eo.clock = clock_;
  eo.allow_private_targets = config_.webhooks_allow_private_targets;
  eo.max_per_owner = static_cast<int>(config_.webhooks_max_endpoints);
  webhooks_ = std::make_unique<WebhookEndpoints>(eo);

  HttpWebhookSenderOptions so;
  so.timeout = std::chrono::seconds(config_.webhooks_timeout_seconds);
  so.ca_file = config_.webhooks_ca_file;
  auto sender = MakeHttpWebhookSender(so);
  if (!sender.ok()) return sender.status();
  webhook_sender_ = std::move(*sender);

  WebhookWorkerOptions wo;
  wo.store = store_.get();
  wo.clock = clock_;
  wo.sender = webhook_sender_.get();
  wo.allow_private_targets = config_.webhooks_allow_private_targets;
  wo.claim_millis = (config_.webhooks_timeout_seconds + 30) * kMillisPerSecond;
  wo.lifecycle.unused_days = static_cast<int>(config_.webhooks_unused_days);
  wo.log = [](std::string_view level, const std::string& message) {
    LogLine(level, message).Emit();
  };
  webhook_worker_ = std::make_unique<WebhookWorker>(std::move(wo));
  webhook_waker_.worker = webhook_worker_.get();
  service_->AddObserver(&webhook_waker_);
  return Status::Ok();
}

Status App::StartBackground() {
  if (maintenance_) return Status::Ok();
  webhook_worker_->Start(static_cast<int>(config_.webhooks_workers), std::chrono::seconds(1),
                         std::chrono::seconds(config_.webhooks_schedule_seconds));
  KEYWARD_RETURN_IF_ERROR(follower_->Start());
  maintenance_ = std::make_unique<Maintenance>(
      store_.get(), follower_.get(), &usage_, credits_.get(),
      std::vector<RateLimiter*>{&limiter_, &failure_limiter_, redis_failure_limiter_.get()},
      config_.usage_retention_days, clock_, &wall_clock_.base(),
      [guard = store_.get()] { guard->Check(); });
  {
    MutexLock lock(&waker_->mu);
    waker_->target = maintenance_.get();
  }
  return store_->WatchKeyChanges([waker = waker_] {
    MutexLock lock(&waker->mu);
    if (waker->target != nullptr) waker->target->WakeFollower();
  });
}

Status App::FlushUsage() {
  if (maintenance_) {
    maintenance_->FlushUsage();
    return Status::Ok();
  }
  return FlushUsageOnce(store_.get(), &usage_, credits_.get(), clock_);
}

void App::Stop() {
  {
    MutexLock lock(&waker_->mu);
    waker_->target = nullptr;
  }
  if (webhook_worker_) webhook_worker_->Stop();
  if (maintenance_) maintenance_->Stop();
}

}  // namespace keyward
