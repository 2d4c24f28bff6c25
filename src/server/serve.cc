#include "server/serve.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/key_cache.h"
#include "core/key_format.h"
#include "core/key_service.h"
#include "core/rate_limiter.h"
#include "core/usage.h"
#include "core/verifier.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/log.h"

namespace keyward {
namespace {

// The background work of a node: follows the change log and flushes the
// access log (every 200 ms), writes usage counters (every second), forgets
// rate-limit state that has refilled (every minute), prunes old change-log
// entries and usage past its retention (every hour). Stop() flushes usage
// once more.
class Maintenance {
 public:
  Maintenance(KeyStore* store, ChangeFollower* follower, UsageRecorder* usage,
              std::vector<RateLimiter*> limiters, int64_t retention_days)
      : store_(store),
        follower_(follower),
        usage_(usage),
        limiters_(std::move(limiters)),
        retention_days_(retention_days) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Maintenance() { Stop(); }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    FlushUsage();
  }

 private:
  void Loop() {
    using Clock = std::chrono::steady_clock;
    auto next_flush = Clock::now() + std::chrono::seconds(1);
    auto next_prune = Clock::now();
    auto next_limiter_prune = Clock::now() + std::chrono::minutes(1);
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (stop_) break;
      lock.unlock();
      LogLine::Flush();
      if (Status s = follower_->Poll(); !s.ok()) {
        LogLine("warn", "cannot read the key change log").Str("error", s.ToString()).Emit();
      }
      const auto now = Clock::now();
      if (now >= next_flush) {
        FlushUsage();
        next_flush = now + std::chrono::seconds(1);
      }
      if (now >= next_limiter_prune) {
        for (RateLimiter* l : limiters_) l->Prune(SystemClock::Get().Now());
        next_limiter_prune = now + std::chrono::minutes(1);
      }
      if (now >= next_prune) {
        Prune();
        next_prune = now + std::chrono::hours(1);
      }
      lock.lock();
    }
  }

  void FlushUsage() {
    UsageBatch batch = usage_->Drain();
    if (batch.empty()) return;
    if (Status s = store_->RecordUsage(batch); !s.ok()) {
      LogLine("warn", "cannot write usage; will retry").Str("error", s.ToString()).Emit();
      usage_->Restore(batch);
    }
  }

  void Prune() {
    const Timestamp now = SystemClock::Get().Now();
    // Followers poll every 200 ms; an hour of change log is plenty to catch up.
    Status a = store_->PruneKeyChanges(now - 3600 * kMillisPerSecond);
    Status b = store_->PruneUsage(now / kMillisPerMinute - retention_days_ * 24 * 60);
    if (!a.ok() || !b.ok()) {
      LogLine("warn", "pruning failed").Str("error", (a.ok() ? b : a).ToString()).Emit();
    }
  }

  KeyStore* store_;
  ChangeFollower* follower_;
  UsageRecorder* usage_;
  std::vector<RateLimiter*> limiters_;
  int64_t retention_days_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<SqliteStore>> OpenDataDir(const std::string& data_dir) {
  // Everything keyward creates (the directory, the database, its WAL and
  // shared-memory files) is its owner's alone, from the first byte.
  ::umask(077);
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::Unavailable("cannot create data directory " + data_dir + ": " +
                                 std::strerror(errno));
    }
  } else if (struct stat st; ::stat(data_dir.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    LogLine("warn", "the data directory is open to other users; chmod 700 it")
        .Str("data_dir", data_dir)
        .Str("mode", mode)
        .Emit();
  }
  return SqliteStore::Open((std::filesystem::path(data_dir) / "keyward.db").string());
}

int RunServe(const Config& config) {
  auto store = OpenDataDir(config.data_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "keyward: %s\n", store.status().message().c_str());
    return 1;
  }
  auto format = KeyFormat::Create(config.product_prefix, config.environments);
  if (!format.ok()) {
    std::fprintf(stderr, "keyward: %s\n", format.status().message().c_str());
    return 2;
  }
  const Clock& clock = SystemClock::Get();
  KeyServiceOptions so;
  so.store = store->get();
  so.format = &*format;
  so.clock = &clock;
  so.default_max_active = config.max_active_per_workspace;
  if (config.default_rate_limit > 0) {
    so.default_rate_limit =
        RateLimit{config.default_rate_limit, config.default_rate_period_seconds};
  }
  KeyService service(so);

  auto first = service.EnsureRootKey(Actor{"keyward", ""});
  if (!first.ok()) {
    std::fprintf(stderr, "keyward: cannot create the first root key: %s\n",
                 first.status().message().c_str());
    return 1;
  }
  if (first->has_value()) {
    // The one deliberate exception to "no secret in output": the operator
    // needs this key, and it exists nowhere else.
    std::fprintf(stderr,
                 "\n"
                 "  keyward created the first root key for this database:\n\n"
                 "      %s\n\n"
                 "  Store it in your secrets manager now: it will not be shown again.\n"
                 "  Use it as  Authorization: Bearer <root key>  (export KEYWARD_ROOT_KEY=...).\n"
                 "  More root keys: keyward root-keys create --data %s --name NAME\n\n",
                 (*first)->secret.c_str(), config.data_dir.c_str());
    std::fflush(stderr);
  }

  StoreKeyResolver backing(store->get());
  KeyCache cache(&backing, config.cache_max_keys);
  service.AddObserver(&cache);
  ChangeFollower follower(store->get(), &cache);
  if (Status st = follower.Start(); !st.ok()) {
    std::fprintf(stderr, "keyward: %s\n", st.message().c_str());
    return 1;
  }
  RateLimiter limiter;
  RateLimiter failure_limiter;
  UsageRecorder usage;
  VerifierOptions vo;
  vo.format = &*format;
  vo.accept_environments = config.accept_environments;
  vo.clock = &clock;
  vo.resolver = &cache;
  vo.rate_limiter = &limiter;
  if (config.default_rate_limit > 0) {
    vo.default_rate_limit =
        RateLimit{config.default_rate_limit, config.default_rate_period_seconds};
  }
  if (config.failed_verifications_per_ip > 0) {
    vo.failure_limiter = &failure_limiter;
    vo.failure_limit = RateLimit{config.failed_verifications_per_ip, 60};
  }
  vo.usage = &usage;
  Verifier verifier(vo);

  ApiOptions ao;
  ao.service = &service;
  ao.verifier = &verifier;
  ao.usage_retention_days = config.usage_retention_days;
  ao.cache = &cache;
  std::vector<CidrBlock> trusted;
  for (const auto& t : config.trusted_proxies) trusted.push_back(*CidrBlock::Parse(t));
  ao.trusted_proxies = TrustedProxies(std::move(trusted));
  SqliteStore* raw_store = store->get();
  ao.ready = [raw_store] { return raw_store->SchemaVersion().ok(); };
  Api api(ao);

  HttpServerOptions ho;
  if (Status s = ParseListenAddress(config.listen, &ho.host, &ho.port); !s.ok()) {
    std::fprintf(stderr, "keyward: %s\n", s.message().c_str());
    return 2;
  }
  ho.threads = config.threads;
  HttpServer server(ho, &api);
  if (Status s = server.Listen(); !s.ok()) {
    std::fprintf(stderr, "keyward: %s\n", s.message().c_str());
    return 1;
  }
  Maintenance maintenance(store->get(), &follower, &usage, {&limiter, &failure_limiter},
                          config.usage_retention_days);
  const std::string address =
      (ho.host.find(':') != std::string::npos ? "[" + ho.host + "]" : ho.host) + ":" +
      std::to_string(server.port());
  LogLine("info", "listening")
      .Str("address", address)
      .Int("threads", config.threads)
      .Str("storage", "sqlite")
      .Str("data_dir", config.data_dir)
      .Str("product_prefix", config.product_prefix)
      .Emit();
  server.Run();
  maintenance.Stop();
  LogLine::Flush();
  LogLine("info", "stopped").Emit();
  return 0;
}

}  // namespace keyward
