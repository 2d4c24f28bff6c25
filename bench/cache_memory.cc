// Memory of the key cache alone: a KeyCache filled with N compiled key
// records shaped like bench/scale.sh's (ids, a workspace of 20 keys, a name,
// a short prefix, one scope), resident memory before and after, per key.
// bench/scale.sh measures the whole server (cache, policy cache, usage
// buffers, SQLite, the allocator's arenas); this is the part the cache's own
// layout decides, to tell the two apart.
//
//   build-bench/cache_memory [N]      (default 1000000)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/key_cache.h"
#include "core/random.h"
#include "core/sha256.h"

namespace {

long RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// Compiles a new record for every hash it is asked for.
class Minting : public keyward::KeyResolver {
 public:
  keyward::Result<keyward::KeyRef> Resolve(const keyward::KeyHash& hash) override {
    keyward::ApiKey k;
    k.id = keyward::NewId("key");
    k.hash = hash;
    k.workspace_id = "ws_" + std::to_string(n_ / 20 + 10'000'000'000'000'000LL);
    k.environment = "live";
    k.name = "bench key " + std::to_string(n_++);
    k.short_prefix = "kw_live_AbCd";
    k.scopes = {"products:read"};
    k.meta_json = "{}";
    return keyward::VerifiableKey::Compile(k);
  }

 private:
  long long n_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  Minting minting;
  keyward::KeyCache cache(&minting, static_cast<size_t>(n) * 3 / 2);
  const long before = RssKib();
  for (long i = 0; i < n; ++i) (void)cache.Resolve(keyward::Sha256(std::to_string(i)));
  const long after = RssKib();
  const double per_key = (after - before) * 1024.0 / static_cast<double>(n);
  std::printf(
      "key cache alone: %zu records, RSS %ld -> %ld KiB: %.0f bytes per cached key "
      "(a record is %zu bytes before its text)\n",
      cache.Stats().entries, before, after, per_key, sizeof(keyward::VerifiableKey));
  return 0;
}
