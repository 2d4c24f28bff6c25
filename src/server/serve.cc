#include "server/serve.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/key_format.h"
#include "core/key_service.h"
#include "core/last_used.h"
#include "core/rate_limiter.h"
#include "core/verifier.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/log.h"

namespace keyward {
namespace {

// Writes batched last-used times once a second until stopped, then once more.
class LastUsedFlusher {
 public:
  LastUsedFlusher(LastUsedTracker* tracker, KeyStore* store) : tracker_(tracker), store_(store) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~LastUsedFlusher() { Stop(); }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    Flush();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::seconds(1));
      if (stop_) break;
      lock.unlock();
      Flush();
      lock.lock();
    }
  }

  void Flush() {
    auto batch = tracker_->Drain();
    if (batch.empty()) return;
    Status s = store_->TouchKeys(batch);
    if (!s.ok()) {
      LogLine("warn", "could not write last-used times; will retry")
          .Str("error", s.ToString())
          .Emit();
      for (const auto& [id, at] : batch) tracker_->Record(id, at);
    }
  }

  LastUsedTracker* tracker_;
  KeyStore* store_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<SqliteStore>> OpenDataDir(const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::Unavailable("cannot create data directory " + data_dir + ": " +
                                 std::strerror(errno));
    }
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

  StoreKeyResolver resolver(store->get());
  RateLimiter limiter;
  LastUsedTracker last_used;
  VerifierOptions vo;
  vo.format = &*format;
  vo.accept_environments = config.accept_environments;
  vo.clock = &clock;
  vo.resolver = &resolver;
  vo.rate_limiter = &limiter;
  vo.last_used = &last_used;
  Verifier verifier(vo);

  ApiOptions ao;
  ao.service = &service;
  ao.verifier = &verifier;
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
  LastUsedFlusher flusher(&last_used, store->get());
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
  flusher.Stop();
  LogLine("info", "stopped").Emit();
  return 0;
}

}  // namespace keyward
