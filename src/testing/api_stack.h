// An in-process keyward for tests and the fuzz harness: the App that
// `keyward serve` runs (the same composition root: store, service, key
// cache, verifier, usage counting, API), on a data directory, without HTTP
// and without background jobs unless a test starts them. Keys are
// "sk_live_…" and "sk_test_…". Not thread-safe to build; the Api it holds
// is as thread-safe as ever.
#ifndef KEYWARD_TESTING_API_STACK_H_
#define KEYWARD_TESTING_API_STACK_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/app.h"
#include "core/clock.h"

namespace keyward::testing {

struct ApiStack {
  // Opens (or creates) the database in data_dir; a failure ends the
  // process, since nothing can be tested without it. extra adjusts the
  // configuration before the App is opened.
  ApiStack(const std::string& data_dir, const Clock* clock,
           std::vector<std::string> accept_environments, void (*extra)(Config*) = nullptr)
      : app(OpenOrDie(data_dir, clock, std::move(accept_environments), extra)),
        service(&app->service()),
        verifier(&app->verifier()),
        api(&app->api()) {}

  static std::unique_ptr<App> OpenOrDie(const std::string& data_dir, const Clock* clock,
                                        std::vector<std::string> accept_environments,
                                        void (*extra)(Config*)) {
    Config config;
    config.data_dir = data_dir;
    config.product_prefix = "sk";
    config.environments = {"live", "test"};
    config.accept_environments = std::move(accept_environments);
    if (extra != nullptr) extra(&config);
    AppOptions options;
    options.clock = clock;
    auto opened = App::Open(config, options);
    if (!opened.ok()) {
      std::fprintf(stderr, "cannot open a keyward in %s: %s\n", data_dir.c_str(),
                   opened.status().ToString().c_str());
      std::abort();
    }
    return std::move(opened).value();
  }

  std::unique_ptr<App> app;
  KeyService* service;
  const Verifier* verifier;
  Api* api;
};

}  // namespace keyward::testing

#endif  // KEYWARD_TESTING_API_STACK_H_
