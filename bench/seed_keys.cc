// Creates N API keys through KeyService, one durable transaction each, the
// way POST /v1/api-keys does, and writes their secrets (one per line) for the
// scale benchmark to present. For benchmarks only: a real deployment never
// writes secrets to a file.
//
//   seed_keys DATA_DIR COUNT SECRETS_FILE [PREFIX]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/key_service.h"
#include "store/sqlite/sqlite_store.h"

int main(int argc, char** argv) {
  using namespace keyward;
  if (argc < 4) {
    std::fprintf(stderr, "usage: seed_keys DATA_DIR COUNT SECRETS_FILE [PREFIX]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const long count = std::atol(argv[2]);
  std::ofstream secrets(argv[3]);
  auto store = SqliteStore::Open(dir + "/keyward.db");
  if (!store.ok()) {
    std::fprintf(stderr, "seed_keys: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto format = KeyFormat::Create(argc > 4 ? argv[4] : "kw", {"live", "test"});
  KeyServiceOptions o;
  o.store = store->get();
  o.format = &*format;
  o.clock = &SystemClock::Get();
  KeyService service(o);
  const Actor actor{"bench", ""};
  constexpr long kPerWorkspace = 20;  // a realistic workspace, like the seeds' 20-key limit
  std::string ws;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    if (i % kPerWorkspace == 0) {
      ws = service
               .CreateWorkspace("bench " + std::to_string(i / kPerWorkspace), kPerWorkspace, actor)
               ->id;
    }
    NewKeyParams p;
    p.workspace_id = ws;
    p.environment = "live";
    p.name = "bench key " + std::to_string(i);
    p.scopes = {"products:read"};
    auto k = service.CreateKey(p, actor);
    if (!k.ok()) {
      std::fprintf(stderr, "seed_keys: %s\n", k.status().ToString().c_str());
      return 1;
    }
    secrets << k->secret << '\n';
    if ((i + 1) % 100000 == 0) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "seed_keys: %ld keys, %.0f s, %.0f keys/s\n", i + 1, s, (i + 1) / s);
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%ld %.1f\n", count, s);
  return 0;
}
