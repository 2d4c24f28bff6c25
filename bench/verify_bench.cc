// In-process verification benchmark: the whole path from an Authorization
// header string to the answer for a cached valid key (format and checksum,
// SHA-256, cache hit, every check, rate limit, usage counting), beside a bare
// SHA-256 of the same key, which is the floor the path cannot go below.
//
//   make bench            (or build/verify_bench directly)
//
// Prints both rates and their ratio; the target is at least 1,000,000
// verifications per second on one core and at least half the SHA-256 rate.
//
// Legacy formats ([[keys.legacy]], issue 16): on one deployment configured
// with amser's shape (product prefix amsr, ^amsr_(live|test)_[A-Za-z0-9]{21}$),
// a cached imported legacy key next to a cached native key of the same
// deployment, a string of almost the legacy shape (malformed: the native
// parse fails, then the RE2 match), and an unknown key of the legacy shape
// (invalid, from the negative cache). Printed as ratios to the native key.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "core/key_cache.h"
#include "core/key_format.h"
#include "core/legacy_format.h"
#include "core/random.h"
#include "core/rate_limiter.h"
#include "core/sha256.h"
#include "core/usage.h"
#include "core/verifier.h"

namespace keyward {
namespace {

class MapResolver : public KeyResolver {
 public:
  Result<KeyRef> Resolve(const KeyHash& hash) override {
    auto it = keys.find(hash);
    if (it == keys.end()) return KeyRef();
    return VerifiableKey::Compile(it->second);
  }
  std::map<KeyHash, ApiKey> keys;
};

struct Fixture {
  // rate_limited: every key has a rate limit (the figure the targets use),
  // else none has, to show what the exact shared limit costs two threads.
  explicit Fixture(bool rate_limited = true)
      : format(std::move(KeyFormat::Create("asa", {"live", "test"})).value()) {
    for (int i = 0; i < 1000; ++i) {
      const std::string secret = format.Generate("live");
      ApiKey k;
      k.id = "key_" + std::to_string(i);
      k.hash = Sha256(secret);
      k.workspace_id = "ws_bench";
      k.environment = "live";
      k.name = "bench";
      k.scopes = {"products:read"};
      if (rate_limited) k.rate_limit = RateLimit{1'000'000'000, 1};
      backing.keys[k.hash] = k;
      headers.push_back("Bearer " + secret);
    }
    cache = std::make_unique<KeyCache>(&backing, 100000);
    VerifierOptions o;
    o.format = &format;
    o.accept_environments = {"live"};
    o.clock = &SystemClock::Get();
    o.resolver = cache.get();
    o.rate_limiter = &limiter;
    o.usage = &usage;
    verifier = std::make_unique<Verifier>(o);
    for (const auto& h : headers) {  // warm the cache
      VerifyRequest r;
      r.key = std::string_view(h).substr(7);
      verifier->Verify(r);
    }
  }
  KeyFormat format;
  MapResolver backing;
  std::unique_ptr<KeyCache> cache;
  MemoryRateLimiter limiter;
  UsageRecorder usage;
  std::unique_ptr<Verifier> verifier;
  std::vector<std::string> headers;
};

Fixture& TheFixture() {
  static Fixture f;
  return f;
}

Fixture& TheUnlimitedFixture() {
  static Fixture f(/*rate_limited=*/false);
  return f;
}

// The credential as gateway mode extracts it from the header.
std::string_view BearerToken(std::string_view header) {
  if (header.size() > 7 && (header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer ")) {
    return header.substr(7);
  }
  return {};
}

// The figures the targets are computed from: the median of five runs. Two
// threads on a shared 2-core machine move by up to half between runs (a
// neighbour's load, which core each thread lands on), one run alone says
// little.
constexpr int kRepetitions = 5;
void Repeated(benchmark::internal::Benchmark* b) {
  b->Repetitions(kRepetitions)->ReportAggregatesOnly(true);
}

void BM_Sha256(benchmark::State& state) {
  const Fixture& f = TheFixture();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Sha256(BearerToken(f.headers[i++ % f.headers.size()])));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256)->Threads(1)->Threads(2)->UseRealTime()->Apply(Repeated);

// The same hash through OpenSSL 3's EVP interface with a reused context and
// a fetched digest: what keyward called before it switched to the
// low-level SHA256_* functions, and the floor the first targets were set on.
void BM_Sha256Evp(benchmark::State& state) {
  const Fixture& f = TheFixture();
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t i = 0;
  KeyHash out;
  unsigned int len = 0;
  for (auto _ : state) {
    const std::string_view key = BearerToken(f.headers[i++ % f.headers.size()]);
    EVP_DigestInit_ex2(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, key.data(), key.size());
    EVP_DigestFinal_ex(ctx, out.data(), &len);
    benchmark::DoNotOptimize(out);
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Evp)->Threads(1)->UseRealTime();

void VerifyCached(benchmark::State& state, Fixture& f) {
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  static const std::vector<std::string> kScopes = {"products:read"};
  for (auto _ : state) {
    VerifyRequest req;
    req.key = BearerToken(f.headers[i++ % f.headers.size()]);
    req.ip = "203.0.113.7";
    req.method = "GET";
    req.path = "/v1/products/B09HN3Q81F";
    req.scopes = kScopes;
    VerifyResult r = f.verifier->Verify(req);
    if (!r.valid()) state.SkipWithError("a cached valid key did not verify");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_VerifyCachedValid(benchmark::State& state) { VerifyCached(state, TheFixture()); }
BENCHMARK(BM_VerifyCachedValid)->Threads(1)->Threads(2)->UseRealTime()->Apply(Repeated);

// The same keys without a rate limit: no state that both threads write.
void BM_VerifyCachedValidNoRateLimit(benchmark::State& state) {
  VerifyCached(state, TheUnlimitedFixture());
}
BENCHMARK(BM_VerifyCachedValidNoRateLimit)->Threads(1)->Threads(2)->UseRealTime()->Apply(Repeated);

// The usage flush's in-memory half at a million keys in use: every key
// verified once in the minute (as bench/scale.sh's random keys are), then
// one drain turns the counters into the sorted rows storage writes. Time
// per key; the write itself is storage's (docs/performance.md section 3).
void BM_UsageDrainPerKey(benchmark::State& state) {
  const auto keys = static_cast<size_t>(state.range(0));
  std::vector<KeyRef> records;
  records.reserve(keys);
  for (size_t i = 0; i < keys; ++i) {
    ApiKey k;
    k.id = NewId("key");
    k.workspace_id = "ws_" + std::to_string(i / 20 + 10'000'000'000'000'000LL);
    k.environment = "live";
    records.push_back(VerifiableKey::Compile(k));
  }
  // Visited in an order unrelated to their ids, as requests arrive.
  std::vector<size_t> order(keys);
  for (size_t i = 0; i < keys; ++i) order[i] = (i * 7919) % keys;
  const Timestamp minute = 29'000'000 * kMillisPerMinute;
  for (auto _ : state) {
    state.PauseTiming();
    auto usage = std::make_unique<UsageRecorder>(keys * 2);
    for (size_t i : order) usage->Record(records[i], Code::kValid, minute);
    state.ResumeTiming();
    // A periodic drain: the counters, and the first chunk of last uses.
    UsageBatch batch = usage->Drain(/*now=*/1);
    state.PauseTiming();
    if (batch.rows.size() != keys) state.SkipWithError("a row per key was expected");
    benchmark::DoNotOptimize(batch);
    batch = UsageBatch();
    usage.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(keys));
}
BENCHMARK(BM_UsageDrainPerKey)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_VerifyMalformed(benchmark::State& state) {
  Fixture& f = TheFixture();
  std::string bad = std::string(BearerToken(f.headers[0]));
  bad[20] = bad[20] == 'a' ? 'b' : 'a';
  for (auto _ : state) {
    VerifyRequest req;
    req.key = bad;
    benchmark::DoNotOptimize(f.verifier->Verify(req));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyMalformed);

// One deployment with amser's legacy format beside its own: 1000 native
// keys it issued and 1000 legacy keys imported by hash, all cached.
struct LegacyFixture {
  LegacyFixture()
      : format(std::move(KeyFormat::Create("amsr", {"live", "test"},
                                           {{"^amsr_(live|test)_[A-Za-z0-9]{21}$", "$1", 12}}))
                   .value()) {
    static const char* kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = 0x9e3779b97f4a7c15ull;
    auto next = [&x] {  // xorshift: reproducible keys, not secrets
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    for (int i = 0; i < 1000; ++i) {
      std::string legacy_key = "amsr_live_";
      for (int c = 0; c < 21; ++c) legacy_key.push_back(kAlnum[next() % 62]);
      const std::string native_key = format.Generate("live");
      for (const auto& [secret, list] :
           {std::pair{legacy_key, &legacy}, std::pair{native_key, &native}}) {
        ApiKey k;
        k.id = "key_" + std::to_string(backing.keys.size());
        k.hash = Sha256(secret);
        k.workspace_id = "ws_bench";
        k.environment = "live";
        k.name = "bench";
        k.scopes = {"products:read"};
        k.rate_limit = RateLimit{1'000'000'000, 1};
        backing.keys[k.hash] = k;
        list->push_back(secret);
      }
    }
    unknown = "amsr_live_";
    for (int c = 0; c < 21; ++c) unknown.push_back(kAlnum[next() % 62]);
    almost = legacy[0].substr(0, legacy[0].size() - 1) + "-";
    cache = std::make_unique<KeyCache>(&backing, 100000);
    VerifierOptions o;
    o.format = &format;
    o.accept_environments = {"live"};
    o.clock = &SystemClock::Get();
    o.resolver = cache.get();
    o.rate_limiter = &limiter;
    o.usage = &usage;
    verifier = std::make_unique<Verifier>(o);
    for (const auto* list : {&legacy, &native}) {  // warm the cache
      for (const auto& secret : *list) {
        VerifyRequest r;
        r.key = secret;
        if (!verifier->Verify(r).valid()) std::abort();
      }
    }
    VerifyRequest r;
    r.key = unknown;
    verifier->Verify(r);  // now in the negative cache
  }
  KeyFormat format;
  MapResolver backing;
  std::unique_ptr<KeyCache> cache;
  MemoryRateLimiter limiter;
  UsageRecorder usage;
  std::unique_ptr<Verifier> verifier;
  std::vector<std::string> legacy, native;
  std::string unknown, almost;
};

LegacyFixture& TheLegacyFixture() {
  static LegacyFixture f;
  return f;
}

void VerifyEach(benchmark::State& state, const std::vector<std::string>& keys) {
  const LegacyFixture& f = TheLegacyFixture();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  static const std::vector<std::string> kScopes = {"products:read"};
  for (auto _ : state) {
    VerifyRequest req;
    req.key = keys[i++ % keys.size()];
    req.ip = "203.0.113.7";
    req.method = "GET";
    req.path = "/v1/products/B09HN3Q81F";
    req.scopes = kScopes;
    VerifyResult r = f.verifier->Verify(req);
    if (!r.valid()) state.SkipWithError("a cached valid key did not verify");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VerifyCachedNativeOnLegacyDeployment(benchmark::State& state) {
  VerifyEach(state, TheLegacyFixture().native);
}
BENCHMARK(BM_VerifyCachedNativeOnLegacyDeployment)->Threads(1)->UseRealTime();

void BM_VerifyCachedLegacy(benchmark::State& state) {
  VerifyEach(state, TheLegacyFixture().legacy);
}
BENCHMARK(BM_VerifyCachedLegacy)->Threads(1)->UseRealTime();

// Of almost the legacy shape (its last character outside the class): the
// native parse and the RE2 match both run, and nothing is hashed.
void BM_VerifyMalformedLegacyShape(benchmark::State& state) {
  const LegacyFixture& f = TheLegacyFixture();
  for (auto _ : state) {
    VerifyRequest req;
    req.key = f.almost;
    VerifyResult r = f.verifier->Verify(req);
    if (r.code != Code::kMalformed) state.SkipWithError("not malformed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyMalformedLegacyShape)->UseRealTime();

// An unknown key of the legacy shape: hashed and looked up like a native
// one, then refused from the negative cache. Guessing costs what it does for
// native keys.
void BM_VerifyUnknownLegacyKey(benchmark::State& state) {
  const LegacyFixture& f = TheLegacyFixture();
  for (auto _ : state) {
    VerifyRequest req;
    req.key = f.unknown;
    VerifyResult r = f.verifier->Verify(req);
    if (r.code != Code::kInvalid) state.SkipWithError("not invalid");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyUnknownLegacyKey)->UseRealTime();

// Collects items/s per benchmark to print the comparison at the end.
class ComparingReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal: make bench copies the output to a log.
  ComparingReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rates[r.benchmark_name()] = it->second.value;
    }
  }
  std::map<std::string, double> rates;
};

}  // namespace
}  // namespace keyward

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Built here, on the main thread, before any run: a fixture first used
  // inside a 2-thread run was built (and its cache warmed, its usage
  // counted) by whichever thread came first, and the figures of later runs
  // moved with that.
  keyward::TheFixture();
  keyward::TheUnlimitedFixture();
  keyward::ComparingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  // The median of the repetitions where there were some, else the one run.
  auto rate = [&](const std::string& name) {
    std::string repeated = name;  // "BM_X/real_time/..." runs as "BM_X/repeats:N/real_time/..."
    repeated.insert(name.find('/') + 1, "repeats:" + std::to_string(keyward::kRepetitions) + "/");
    auto it = reporter.rates.find(repeated + "_median");
    if (it == reporter.rates.end()) it = reporter.rates.find(name);
    return it == reporter.rates.end() ? 0.0 : it->second;
  };
  // The floor is the fastest SHA-256 of the key this machine has (the one
  // keyward calls); the EVP figure is printed beside it.
  const double sha1 = rate("BM_Sha256/real_time/threads:1");
  const double sha_evp = rate("BM_Sha256Evp/real_time/threads:1");
  const double verify1 = rate("BM_VerifyCachedValid/real_time/threads:1");
  const double verify2 = rate("BM_VerifyCachedValid/real_time/threads:2");
  if (sha1 > 0 && verify1 > 0) {
    std::printf(
        "\none thread: verify %.0f/s (%.0f ns), bare SHA-256 %.0f/s (%.0f ns), ratio %.2f\n",
        verify1, 1e9 / verify1, sha1, 1e9 / sha1, verify1 / sha1);
    if (sha_evp > 0) {
      std::printf("  against SHA-256 through EVP (%.0f ns, the floor before): ratio %.2f\n",
                  1e9 / sha_evp, verify1 / sha_evp);
    }
    std::printf(
        "TARGET\tin-process verify / bare SHA-256, 1 thread\t%.2f\t>= 0.50\t%s\tverify %.0f ns, "
        "SHA-256 %.0f ns (through EVP %.0f ns: ratio %.2f)\n",
        verify1 / sha1, verify1 / sha1 >= 0.5 ? "met" : "SHORT", 1e9 / verify1, 1e9 / sha1,
        sha_evp > 0 ? 1e9 / sha_evp : 0.0, sha_evp > 0 ? verify1 / sha_evp : 0.0);
    std::printf("TARGET\tin-process verifications per second, 1 thread\t%.0f\t>= 1000000\t%s\n",
                verify1, verify1 >= 1e6 ? "met" : "SHORT");
  }
  if (verify1 > 0 && verify2 > 0) {
    std::printf("two threads: verify %.0f/s in total, %.2fx one thread\n", verify2,
                verify2 / verify1);
    std::printf(
        "TARGET\tin-process verify, 2 threads / 1 thread\t%.2f\t>= 1.80\t%s\t%.0f/s "
        "against %.0f/s\n",
        verify2 / verify1, verify2 / verify1 >= 1.8 ? "met" : "SHORT", verify2, verify1);
  }
  const double free1 = rate("BM_VerifyCachedValidNoRateLimit/real_time/threads:1");
  const double free2 = rate("BM_VerifyCachedValidNoRateLimit/real_time/threads:2");
  if (free1 > 0 && free2 > 0) {
    std::printf(
        "keys without a rate limit: one thread %.0f/s (%.0f ns), two threads %.0f/s, %.2fx "
        "(the rest of the gap is the limit's state, which both threads write)\n",
        free1, 1e9 / free1, free2, free2 / free1);
  }
  const double native = rate("BM_VerifyCachedNativeOnLegacyDeployment/real_time/threads:1");
  const double legacy = rate("BM_VerifyCachedLegacy/real_time/threads:1");
  const double almost = rate("BM_VerifyMalformedLegacyShape/real_time");
  const double unknown = rate("BM_VerifyUnknownLegacyKey/real_time");
  if (native > 0 && legacy > 0) {
    std::printf(
        "\nlegacy formats (one thread, a deployment with amser's [[keys.legacy]]):\n"
        "  cached native key  %10.0f/s  %6.0f ns\n"
        "  cached legacy key  %10.0f/s  %6.0f ns  legacy/native time %.2f\n",
        native, 1e9 / native, legacy, 1e9 / legacy, native / legacy);
    if (almost > 0) {
      std::printf("  malformed (almost the legacy shape) %10.0f/s  %6.0f ns  /native time %.2f\n",
                  almost, 1e9 / almost, native / almost);
    }
    if (unknown > 0) {
      std::printf("  unknown legacy-shaped key (invalid) %10.0f/s  %6.0f ns  /native time %.2f\n",
                  unknown, 1e9 / unknown, native / unknown);
    }
  }
  return 0;
}
