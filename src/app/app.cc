#include "app/app.h"

#include "app/maintenance.h"
#include "app/open_store.h"
#include "server/log.h"
#include "server/metrics.h"

namespace keyward {

Result<std::unique_ptr<App>> App::Open(const Config& config, AppOptions options) {
  std::unique_ptr<App> app(
      new App(config, options.clock != nullptr ? options.clock : &SystemClock::Get()));
  auto format = KeyFormat::Create(config.product_prefix, config.environments);
  if (!format.ok()) return Status::InvalidRequest(format.status().message());
  app->format_.emplace(std::move(*format));
  auto store = OpenStore(config);
  if (!store.ok()) return store.status();
  app->store_ = std::move(*store);

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
  app->service_ = std::make_unique<KeyService>(so);

  app->backing_ = std::make_unique<StoreKeyResolver>(app->store_.get());
  app->cache_ = std::make_unique<KeyCache>(app->backing_.get(), config.cache_max_keys);
  app->service_->AddObserver(app->cache_.get());
  app->follower_ = std::make_unique<ChangeFollower>(app->store_.get(), app->cache_.get());

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
  vo.usage = &app->usage_;
  app->verifier_ = std::make_unique<Verifier>(vo);

  WebSessionOptions wo;
  wo.code_ttl_seconds = config.portal_code_ttl_seconds;
  wo.session_ttl_seconds = config.portal_session_ttl_seconds;
  wo.environments = config.environments;
  app->sessions_ = std::make_unique<WebSessions>(app->store_.get(), app->clock_, wo);

  ApiOptions ao;
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
  std::vector<CidrBlock> trusted;
  for (const auto& t : config.trusted_proxies) {
    auto block = CidrBlock::Parse(t);
    if (!block.ok()) return Status::InvalidRequest("trusted_proxies: " + block.status().message());
    trusted.push_back(*block);
  }
  ao.trusted_proxies = TrustedProxies(std::move(trusted));
  KeyStore* opened = app->store_.get();
  ao.ready = [opened] { return opened->Ping().ok(); };
  ao.extra_metrics = [opened, a = app.get()] { return a->RenderMetrics(*opened); };
  app->api_ = std::make_unique<Api>(ao);
  return app;
}

App::~App() { Stop(); }

std::string App::RenderMetrics(KeyStore& store) const {
  std::string out;
  auto line = [&out](const char* name, const char* type, const char* help, uint64_t v) {
    AppendMetric(&out, name, type, help, v);
  };
  line("keyward_store_up", "gauge", "1 when the database answers, 0 while it cannot be reached.",
       store.Ping().ok() ? 1 : 0);
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

Status App::StartBackground() {
  if (maintenance_) return Status::Ok();
  KEYWARD_RETURN_IF_ERROR(follower_->Start());
  maintenance_ = std::make_unique<Maintenance>(
      store_.get(), follower_.get(), &usage_,
      std::vector<RateLimiter*>{&limiter_, &failure_limiter_, redis_failure_limiter_.get()},
      config_.usage_retention_days, clock_);
  {
    MutexLock lock(&waker_->mu);
    waker_->target = maintenance_.get();
  }
  return store_->WatchKeyChanges([waker = waker_] {
    MutexLock lock(&waker->mu);
    if (waker->target != nullptr) waker->target->WakeFollower();
  });
}

void App::Stop() {
  {
    MutexLock lock(&waker_->mu);
    waker_->target = nullptr;
  }
  if (maintenance_) maintenance_->Stop();
}

}  // namespace keyward
