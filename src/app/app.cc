#include "app/app.h"

#include "app/maintenance.h"
#include "app/open_store.h"

namespace keyward {

Result<std::unique_ptr<App>> App::Open(const Config& config, AppOptions options) {
  std::unique_ptr<App> app(
      new App(config, options.clock != nullptr ? options.clock : &SystemClock::Get()));
  auto format = KeyFormat::Create(config.product_prefix, config.environments);
  if (!format.ok()) return Status::InvalidRequest(format.status().message());
  app->format_.emplace(std::move(*format));
  auto store = OpenStore(config.database, config.data_dir);
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

  VerifierOptions vo;
  vo.format = &*app->format_;
  vo.accept_environments = config.accept_environments;
  vo.clock = app->clock_;
  vo.resolver = app->cache_.get();
  vo.rate_limiter = &app->limiter_;
  vo.default_rate_limit = default_rate_limit;
  if (config.failed_verifications_per_ip > 0) {
    vo.failure_limiter = &app->failure_limiter_;
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
  KeyStore* store_for_ready = app->store_.get();
  ao.ready = [store_for_ready] { return store_for_ready->Ping().ok(); };
  app->api_ = std::make_unique<Api>(ao);
  return app;
}

App::~App() { Stop(); }

Status App::StartBackground() {
  if (maintenance_) return Status::Ok();
  KEYWARD_RETURN_IF_ERROR(follower_->Start());
  maintenance_ =
      std::make_unique<Maintenance>(store_.get(), follower_.get(), &usage_,
                                    std::vector<RateLimiter*>{&limiter_, &failure_limiter_},
                                    config_.usage_retention_days, clock_);
  return Status::Ok();
}

void App::Stop() {
  if (maintenance_) maintenance_->Stop();
}

}  // namespace keyward
