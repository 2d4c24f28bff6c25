#include "app/serve.h"

#include <cstdio>

#include "app/app.h"
#include "app/open_store.h"
#include "server/http_server.h"
#include "server/log.h"

namespace keyward {

int RunServe(const Config& config) {
  auto app = App::Open(config);
  if (!app.ok()) {
    std::fprintf(stderr, "keyward: %s\n", app.status().message().c_str());
    return app.status().code() == Code::kInvalidRequest ? 2 : 1;
  }
  KeyService& service = (*app)->service();
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
                 "  More root keys: keyward root-keys create %s --name NAME\n\n",
                 (*first)->secret.c_str(),
                 config.database.empty() ? ("--data " + config.data_dir).c_str()
                                         : "--database \"$KEYWARD_DATABASE\"");
    std::fflush(stderr);
  }

  HttpServerOptions ho;
  if (Status s = ParseListenAddress(config.listen, &ho.host, &ho.port); !s.ok()) {
    std::fprintf(stderr, "keyward: %s\n", s.message().c_str());
    return 2;
  }
  ho.threads = config.threads;
  HttpServer server(ho, &(*app)->api());
  if (Status s = server.Listen(); !s.ok()) {
    std::fprintf(stderr, "keyward: %s\n", s.message().c_str());
    return 1;
  }
  if (Status s = (*app)->StartBackground(); !s.ok()) {
    std::fprintf(stderr, "keyward: %s\n", s.message().c_str());
    return 1;
  }
  const std::string address =
      (ho.host.find(':') != std::string::npos ? "[" + ho.host + "]" : ho.host) + ":" +
      std::to_string(server.port());
  (*app)->api().SetListenAddress(address);
  LogLine("info", "listening")
      .Str("address", address)
      .Int("threads", config.threads)
      .Str("storage", config.database.empty() ? "sqlite" : "postgres")
      .Str("database", StoreDisplayName(config))
      .Str("product_prefix", config.product_prefix)
      .Emit();
  server.Run();
  (*app)->Stop();
  LogLine::Flush();
  LogLine("info", "stopped").Emit();
  return 0;
}

}  // namespace keyward
