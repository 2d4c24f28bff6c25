// An in-process keyward for tests and the fuzz harness: a SQLite store in a
// file, the key service, a verifier reading the store and the Api, wired as
// `keyward serve` wires them, without HTTP, the key cache or usage counting.
// Keys are "sk_live_…" and "sk_test_…". Not thread-safe to build; the Api
// it holds is as thread-safe as ever.
#ifndef KEYWARD_TESTING_API_STACK_H_
#define KEYWARD_TESTING_API_STACK_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/key_format.h"
#include "core/key_service.h"
#include "core/rate_limiter.h"
#include "core/verifier.h"
#include "server/api.h"
#include "store/sqlite/sqlite_store.h"

namespace keyward::testing {

struct ApiStack {
  // Opens (or creates) the database at db_path; a failure to open it ends the
  // process, since nothing can be tested without it.
  ApiStack(const std::string& db_path, const Clock* clock,
           std::vector<std::string> accept_environments)
      : format(std::move(KeyFormat::Create("sk", {"live", "test"})).value()),
        store(OpenOrDie(db_path)) {
    KeyServiceOptions so;
    so.store = store.get();
    so.format = &format;
    so.clock = clock;
    service = std::make_unique<KeyService>(so);
    resolver = std::make_unique<StoreKeyResolver>(store.get());
    VerifierOptions vo;
    vo.format = &format;
    vo.accept_environments = std::move(accept_environments);
    vo.clock = clock;
    vo.resolver = resolver.get();
    vo.rate_limiter = &limiter;
    verifier = std::make_unique<Verifier>(vo);
    ApiOptions ao;
    ao.service = service.get();
    ao.verifier = verifier.get();
    api = std::make_unique<Api>(ao);
  }

  static std::unique_ptr<SqliteStore> OpenOrDie(const std::string& db_path) {
    auto opened = SqliteStore::Open(db_path);
    if (!opened.ok()) {
      std::fprintf(stderr, "cannot open %s: %s\n", db_path.c_str(),
                   opened.status().ToString().c_str());
      std::abort();
    }
    return std::move(opened).value();
  }

  KeyFormat format;
  RateLimiter limiter;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<KeyService> service;
  std::unique_ptr<StoreKeyResolver> resolver;
  std::unique_ptr<Verifier> verifier;
  std::unique_ptr<Api> api;
};

}  // namespace keyward::testing

#endif  // KEYWARD_TESTING_API_STACK_H_
