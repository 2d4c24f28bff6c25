#include "core/key_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/sha256.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

// A backing resolver that counts lookups and can run a hook mid-lookup.
class CountingResolver : public KeyResolver {
 public:
  Result<KeyRef> Resolve(const KeyHash& hash) override {
    lookups++;
    if (fail) return Status::Unavailable("down");
    auto it = keys.find(hash);
    if (it == keys.end()) return KeyRef();
    auto record = VerifiableKey::Compile(it->second);
    if (during_lookup) during_lookup();  // after the read: the record is now stale
    return record;
  }
  std::map<KeyHash, ApiKey> keys;
  std::atomic<int> lookups{0};
  std::function<void()> during_lookup;
  bool fail = false;
};

// xorshift64: a reproducible sequence of key indexes.
uint64_t NextRandom(uint64_t& x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

ApiKey MakeRecord(const std::string& secret) {
  ApiKey k;
  k.id = "key_" + secret;
  k.hash = Sha256(secret);
  return k;
}

// n keys in backing, secrets prefix + 0 .. n-1 (ids "key_" + secret); their
// hashes in that order.
std::vector<KeyHash> AddKeys(CountingResolver& backing, const std::string& prefix, int n) {
  std::vector<KeyHash> hashes;
  for (int i = 0; i < n; ++i) {
    hashes.push_back(Sha256(prefix + std::to_string(i)));
    backing.keys[hashes.back()] = MakeRecord(prefix + std::to_string(i));
  }
  return hashes;
}

TEST(KeyCacheTest, CachesHitsAndUnknownHashes) {
  CountingResolver backing;
  backing.keys[Sha256("a")] = MakeRecord("a");
  KeyCache cache(&backing, 1000);
  for (int i = 0; i < 3; ++i) {
    auto r = cache.Resolve(Sha256("a"));
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(*r);
    EXPECT_EQ((*r)->id(), "key_a");
    auto unknown = cache.Resolve(Sha256("zz"));
    ASSERT_TRUE(unknown.ok());
    EXPECT_FALSE(*unknown);
  }
  EXPECT_EQ(backing.lookups.load(), 2);
  const auto stats = cache.Stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.negative_hits, 2u);
  EXPECT_EQ(stats.misses, 2u);
}

TEST(KeyCacheTest, InvalidateDropsPositiveAndNegativeEntries) {
  CountingResolver backing;
  KeyCache cache(&backing, 1000);
  EXPECT_FALSE(*cache.Resolve(Sha256("new")));
  backing.keys[Sha256("new")] = MakeRecord("new");
  EXPECT_FALSE(*cache.Resolve(Sha256("new")));  // still the negative entry
  cache.Invalidate(Sha256("new"));
  EXPECT_TRUE(*cache.Resolve(Sha256("new")));
  backing.keys[Sha256("new")].revoked_at = 1;
  cache.Invalidate(Sha256("new"));
  EXPECT_TRUE((*cache.Resolve(Sha256("new")))->revoked());
}

TEST(KeyCacheTest, StorageErrorsAreNotCached) {
  CountingResolver backing;
  backing.keys[Sha256("a")] = MakeRecord("a");
  KeyCache cache(&backing, 1000);
  backing.fail = true;
  EXPECT_FALSE(cache.Resolve(Sha256("a")).ok());
  backing.fail = false;
  EXPECT_TRUE(*cache.Resolve(Sha256("a")));
}

TEST(KeyCacheTest, ARecordReadBeforeAnInvalidationIsNotKept) {
  CountingResolver backing;
  backing.keys[Sha256("a")] = MakeRecord("a");
  KeyCache cache(&backing, 1000);
  // The revocation lands while the miss is reading storage.
  backing.during_lookup = [&] {
    backing.during_lookup = nullptr;
    backing.keys[Sha256("a")].revoked_at = 5;
    cache.Invalidate(Sha256("a"));
  };
  auto stale = cache.Resolve(Sha256("a"));
  ASSERT_TRUE(*stale);
  EXPECT_FALSE((*stale)->revoked());  // that one answer was already on its way
  auto next = cache.Resolve(Sha256("a"));
  EXPECT_TRUE((*next)->revoked()) << "a stale record stayed in the cache";
}

TEST(KeyCacheTest, SizeIsBounded) {
  CountingResolver backing;
  for (int i = 0; i < 5000; ++i)
    backing.keys[Sha256(std::to_string(i))] = MakeRecord(std::to_string(i));
  KeyCache cache(&backing, 640);
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(*cache.Resolve(Sha256(std::to_string(i))));
  for (int i = 0; i < 5000; ++i) ASSERT_FALSE(*cache.Resolve(Sha256("u" + std::to_string(i))));
  const auto stats = cache.Stats();
  EXPECT_LE(stats.entries, 640u);
  EXPECT_LE(stats.negative_entries, 640u / 4);
  EXPECT_GT(stats.evictions, 0u);
}

// The open-addressing table against a model: through evictions (backward
// shifts) and invalidations, a hit is always the record of the hash asked
// for, and what was dropped comes back from storage.
TEST(KeyCacheTest, EveryAnswerIsTheRightRecordThroughEvictionsAndInvalidations) {
  CountingResolver backing;
  constexpr int kKeys = 3000;
  const std::vector<KeyHash> hashes = AddKeys(backing, "", kKeys);
  KeyCache cache(&backing, 64 * 8);  // 8 a shard: tables fill, shift and evict
  uint64_t x = 88172645463325252ull;
  for (int step = 0; step < 200000; ++step) {
    const int i = static_cast<int>(NextRandom(x) % kKeys);
    if (step % 7 == 0) {
      cache.Invalidate(hashes[static_cast<size_t>(i)]);
      continue;
    }
    auto r = cache.Resolve(hashes[static_cast<size_t>(i)]);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(*r);
    ASSERT_EQ((*r)->id(), "key_" + std::to_string(i)) << "step " << step;
    ASSERT_TRUE(KeyHashEq{}((*r)->hash(), hashes[static_cast<size_t>(i)]));
  }
  const auto stats = cache.Stats();
  EXPECT_LE(stats.entries, 64u * 8);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.hits, 0u);
  // Everything cached is still found, each under its own hash.
  size_t found = 0;
  const int before = backing.lookups.load();
  for (int i = 0; i < kKeys; ++i) {
    auto r = cache.Resolve(hashes[static_cast<size_t>(i)]);
    ASSERT_EQ((*r)->id(), "key_" + std::to_string(i));
    found += 1;
  }
  EXPECT_EQ(found, static_cast<size_t>(kKeys));
  EXPECT_LT(backing.lookups.load() - before, kKeys) << "nothing was served from the cache";
}

// Readers, evictions and invalidations on every shard at once (run under
// TSan by make test-tsan): each answer is the record asked for, and the
// records dropped by the cache are freed once no reader holds them (ASan).
TEST(KeyCacheTest, ConcurrentReadersEvictionsAndInvalidationsAgree) {
  CountingResolver backing;
  constexpr int kKeys = 2000;
  const std::vector<KeyHash> hashes = AddKeys(backing, "c", kKeys);
  KeyCache cache(&backing, 64 * 4);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(t + 1);
      for (int n = 0; n < 30000; ++n) {
        const size_t i = NextRandom(x) % kKeys;
        auto r = cache.Resolve(hashes[i]);
        if (!r.ok() || !*r || (*r)->id() != "key_c" + std::to_string(i)) wrong++;
      }
    });
  }
  std::thread invalidator([&] {
    size_t i = 0;
    while (!stop.load()) cache.Invalidate(hashes[i++ % kKeys]);
  });
  for (auto& t : readers) t.join();
  stop = true;
  invalidator.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.Stats().entries, 64u * 4);
}

// The lock-free path (Peek under an epoch guard, as Verify reads) racing
// inserts, growth, shifts, evictions and invalidations (run under TSan and
// ASan): a hit is always the record asked for and still alive, a probe
// that races a shift may miss but never answers another key.
TEST(KeyCacheTest, LockFreeHitsRaceEveryWriterAndAnswerOnlyTheRecordAskedFor) {
  CountingResolver backing;
  constexpr int kKeys = 3000;
  const std::vector<KeyHash> hashes = AddKeys(backing, "p", kKeys);
  KeyCache cache(&backing, 64 * 16);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<uint64_t> peeked{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(t + 7);
      for (int n = 0; n < 40000; ++n) {
        const size_t i = NextRandom(x) % kKeys;
        const std::string want = "key_p" + std::to_string(i);
        EpochGuard guard = EpochDomain::Get().Enter();
        if (const VerifiableKey* k = cache.Peek(hashes[i])) {
          peeked.fetch_add(1, std::memory_order_relaxed);
          if (k->id() != want || !KeyHashEq{}(k->hash(), hashes[i])) wrong++;
          continue;
        }
        auto r = cache.Resolve(hashes[i]);  // fills the cache: inserts, growth, evictions
        if (!r.ok() || !*r || (*r)->id() != want) wrong++;
      }
    });
  }
  std::thread invalidator([&] {
    size_t i = 0;
    while (!stop.load()) {
      cache.Invalidate(hashes[(i * 7919) % kKeys]);
      if (++i % 5000 == 0) cache.Clear();  // every shard emptied under the readers
    }
  });
  for (auto& t : readers) t.join();
  stop = true;
  invalidator.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(peeked.load(), 0u) << "no lookup was answered lock-free";
  EXPECT_GE(cache.Stats().hits, peeked.load());
  EXPECT_LE(cache.Stats().entries, 64u * 16);
}

// Revocation stays exact on the lock-free path: once Invalidate has
// returned, no lookup begun after it answers the record it dropped.
TEST(KeyCacheTest, NoLookupBegunAfterAnInvalidationAnswersTheRecordItDropped) {
  // The stored record's generation moves on before each invalidation.
  class Generations : public KeyResolver {
   public:
    Result<KeyRef> Resolve(const KeyHash& hash) override {
      ApiKey k;
      k.id = std::to_string(generation.load());
      k.hash = hash;
      return VerifiableKey::Compile(k);
    }
    std::atomic<int> generation{0};
  } backing;
  const KeyHash hash = Sha256("revoked-and-revoked-again");
  KeyCache cache(&backing, 1000);
  std::atomic<int> published{0};
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  std::atomic<int> started{0};
  std::atomic<uint64_t> lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      started++;
      while (!stop.load(std::memory_order_relaxed)) {
        lookups.fetch_add(1, std::memory_order_relaxed);
        const int floor = published.load(std::memory_order_acquire);
        EpochGuard guard = EpochDomain::Get().Enter();
        int seen;
        if (const VerifiableKey* k = cache.Peek(hash)) {
          seen = std::stoi(std::string(k->id()));
        } else {
          auto r = cache.Resolve(hash);
          seen = std::stoi(std::string((*r)->id()));
        }
        if (seen < floor) stale++;
      }
    });
  }
  while (started.load() < 2) std::this_thread::yield();
  // 20,000 generations at least, and on until the readers have looked a
  // good deal meanwhile (on a loaded machine they may start late).
  for (int g = 1; g <= 20000 || lookups.load(std::memory_order_relaxed) < 20000; ++g) {
    backing.generation.store(g);
    cache.Invalidate(hash);
    published.store(g, std::memory_order_release);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_GE(lookups.load(), 20000u);
}

// The whole stack on a real database: KeyService revokes, the cache hears it.
class KeyCacheStoreTest : public ::testing::Test {
 protected:
  KeyCacheStoreTest() : format_(std::move(KeyFormat::Create("sk", {"live"})).value()) {}

  struct Node {
    std::unique_ptr<SqliteStore> store;
    std::unique_ptr<KeyService> service;
    std::unique_ptr<StoreKeyResolver> backing;
    std::unique_ptr<KeyCache> cache;
    std::unique_ptr<Verifier> verifier;
  };

  Node OpenNode() {
    Node n;
    n.store = std::move(SqliteStore::Open(dir_.File("keyward.db"))).value();
    KeyServiceOptions so;
    so.store = n.store.get();
    so.format = &format_;
    so.clock = &SystemClock::Get();
    so.default_max_active = 1000;
    n.service = std::make_unique<KeyService>(so);
    n.backing = std::make_unique<StoreKeyResolver>(n.store.get());
    n.cache = std::make_unique<KeyCache>(n.backing.get(), 10000);
    n.service->AddObserver(n.cache.get());
    VerifierOptions vo;
    vo.format = &format_;
    vo.accept_environments = {"live"};
    vo.clock = &SystemClock::Get();
    vo.resolver = n.cache.get();
    n.verifier = std::make_unique<Verifier>(vo);
    return n;
  }

  Code Verify(Node& n, const std::string& secret) {
    VerifyRequest req;
    req.key = secret;
    return n.verifier->Verify(req).code;
  }

  keyward::testing::TempDir dir_;
  KeyFormat format_;
  Actor actor_{"rk_test", ""};
};

// A result borrows its record from the cache; the cache dropping it (a
// revocation, a clear) and reclaiming does not free it under the result
// (ASan would see the use after free).
TEST_F(KeyCacheStoreTest, AResultKeepsItsBorrowedRecordAfterTheCacheDropsIt) {
  Node node = OpenNode();
  auto ws = node.service->CreateWorkspace("Acme", std::nullopt, actor_);
  ASSERT_TRUE(ws.ok());
  NewKeyParams p;
  p.workspace_id = ws->id;
  p.environment = "live";
  p.name = "held";
  const CreatedKey key = std::move(node.service->CreateKey(p, actor_)).value();
  ASSERT_EQ(Verify(node, key.secret), Code::kValid);  // now cached
  VerifyRequest req;
  req.key = key.secret;
  const VerifyResult held = node.verifier->Verify(req);
  ASSERT_TRUE(held.valid());
  ASSERT_TRUE(node.service->RevokeKey(key.record.id, "", actor_).ok());
  node.cache->Clear();
  for (int i = 0; i < 3; ++i) EpochDomain::Get().Reclaim();
  EXPECT_EQ(held.key->id(), key.record.id);
  EXPECT_EQ(held.key->name(), "held");
  EXPECT_EQ(Verify(node, key.secret), Code::kRevoked);
  const KeyRef kept = held.key.Ref();  // a reference that outlives the result
  EXPECT_EQ(kept->id(), key.record.id);
}

TEST_F(KeyCacheStoreTest, NoValidAnswerAfterRevokeReturnsUnderLoad) {
  Node node = OpenNode();
  auto ws = node.service->CreateWorkspace("Acme", std::nullopt, actor_);
  ASSERT_TRUE(ws.ok());
  constexpr int kKeys = 40;
  std::vector<CreatedKey> keys;
  for (int i = 0; i < kKeys; ++i) {
    NewKeyParams p;
    p.workspace_id = ws->id;
    p.environment = "live";
    p.name = "k" + std::to_string(i);
    keys.push_back(std::move(node.service->CreateKey(p, actor_)).value());
  }
  // revoked_upto: keys [0, n) have had RevokeKey return.
  std::atomic<int> revoked_upto{0};
  std::atomic<bool> done{false};
  std::atomic<int> violations{0};
  std::atomic<long> checks{0};
  std::vector<std::thread> hammers;
  for (int t = 0; t < 4; ++t) {
    hammers.emplace_back([&, t] {
      int i = t;
      while (!done.load()) {
        const int k = i++ % kKeys;
        const int before = revoked_upto.load();
        const Code code = Verify(node, keys[k].secret);
        if (k < before && code == Code::kValid) violations++;
        checks++;
      }
    });
  }
  for (int k = 0; k < kKeys; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE(node.service->RevokeKey(keys[k].record.id, "", actor_).ok());
    revoked_upto.store(k + 1);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  done = true;
  for (auto& h : hammers) h.join();
  EXPECT_EQ(violations.load(), 0) << "verifications started after a revoke answered valid";
  EXPECT_GT(checks.load(), kKeys * 10);
  for (const auto& k : keys) EXPECT_EQ(Verify(node, k.secret), Code::kRevoked);
}

TEST_F(KeyCacheStoreTest, AnotherProcessesRevocationArrivesThroughTheChangeLog) {
  Node a = OpenNode();
  Node b = OpenNode();  // a second connection: another keyward on the same file
  ChangeFollower follower(a.store.get(), a.cache.get());
  ASSERT_TRUE(follower.Start().ok());
  auto ws = b.service->CreateWorkspace("Acme", std::nullopt, actor_);
  NewKeyParams p;
  p.workspace_id = ws->id;
  p.environment = "live";
  p.name = "shared";
  auto key = b.service->CreateKey(p, actor_);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(Verify(a, key->secret), Code::kValid);  // now cached on node a
  ASSERT_TRUE(b.service->RevokeKey(key->record.id, "", actor_).ok());
  EXPECT_EQ(Verify(a, key->secret), Code::kValid) << "node a should still hold its cached record";
  ASSERT_TRUE(follower.Poll().ok());
  EXPECT_EQ(Verify(a, key->secret), Code::kRevoked);
}

TEST_F(KeyCacheStoreTest, AFollowerFarBehindClearsTheCache) {
  Node a = OpenNode();
  Node b = OpenNode();
  ChangeFollower follower(a.store.get(), a.cache.get());
  ASSERT_TRUE(follower.Start().ok());
  auto ws = b.service->CreateWorkspace("Acme", 100000, actor_);
  NewKeyParams p;
  p.workspace_id = ws->id;
  p.environment = "live";
  p.name = "first";
  auto first = b.service->CreateKey(p, actor_);
  EXPECT_EQ(Verify(a, first->secret), Code::kValid);
  for (int i = 0; i < ChangeFollower::kMaxBatch; ++i) {
    p.name = "n" + std::to_string(i);
    ASSERT_TRUE(b.service->CreateKey(p, actor_).ok());
  }
  ASSERT_TRUE(b.service->RevokeKey(first->record.id, "", actor_).ok());
  ASSERT_TRUE(follower.Poll().ok());
  EXPECT_EQ(Verify(a, first->secret), Code::kRevoked);
  ASSERT_TRUE(follower.Poll().ok());  // and it keeps following from there
}

}  // namespace
}  // namespace keyward
