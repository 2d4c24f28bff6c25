#include "core/usage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <tuple>

namespace keyward {
namespace {

KeyRef Key(const std::string& id, const std::string& ws) {
  ApiKey k;
  k.id = id;
  k.workspace_id = ws;
  return VerifiableKey::Compile(k);
}

TEST(UsageRecorderTest, CountsPerKeyMinuteAndCode) {
  UsageRecorder u;
  auto a = Key("key_a", "ws_1");
  auto a_again = Key("key_a", "ws_1");  // the same key, recompiled after an invalidation
  auto b = Key("key_b", "ws_2");
  const Timestamp t = 1'700'000'000'000;
  u.Record(a, Code::kValid, t);
  u.Record(a_again, Code::kValid, t + 1000);
  u.Record(a, Code::kRateLimited, t + 2000);
  u.Record(a, Code::kValid, t + 60'000);
  u.Record(b, Code::kRevoked, t);
  UsageBatch batch = u.DrainAll();
  ASSERT_EQ(batch.rows.size(), 4u);
  int64_t valid_first_minute = 0;
  for (const auto& r : batch.rows) {
    if (r.key_id == "key_a" && r.code == Code::kValid && r.minute == t / kMillisPerMinute) {
      valid_first_minute = r.count;
      EXPECT_EQ(r.workspace_id, "ws_1");
    }
  }
  EXPECT_EQ(valid_first_minute, 2);
  // One row per key, minute and code, in that order (strictly increasing:
  // no row twice), the order two nodes lock rows in.
  for (size_t i = 1; i < batch.rows.size(); ++i) {
    const auto& p = batch.rows[i - 1];
    const auto& r = batch.rows[i];
    EXPECT_LT(std::tie(p.key_id, p.minute, p.code), std::tie(r.key_id, r.minute, r.code)) << i;
  }
  // last_used only from valid answers.
  ASSERT_EQ(batch.last_used.size(), 1u);
  EXPECT_EQ(batch.last_used[0].first, "key_a");
  EXPECT_EQ(batch.last_used[0].second, t + 60'000);
  EXPECT_TRUE(u.DrainAll().empty());
}

TEST(UsageRecorderTest, RestoredBatchesComeBack) {
  UsageRecorder u;
  u.Record(Key("key_a", "ws"), Code::kValid, 60'000);
  UsageBatch batch = u.DrainAll();
  u.Restore(batch);
  UsageBatch again = u.DrainAll();
  ASSERT_EQ(again.rows.size(), 1u);
  EXPECT_EQ(again.rows[0].count, 1);
}

TEST(UsageRecorderTest, FailedFlushesMergeInsteadOfGrowingPerTry) {
  UsageRecorder u(1000);
  auto a = Key("key_a", "ws");
  // Storage refuses every flush for a minute's worth of tries.
  for (int i = 0; i < 60; ++i) {
    u.Record(a, Code::kValid, 60'000 + i);
    u.Restore(u.DrainAll());
  }
  EXPECT_EQ(u.Stats().pending_rows, 1u);
  EXPECT_EQ(u.Stats().dropped, 0u);
  UsageBatch batch = u.DrainAll();
  ASSERT_EQ(batch.rows.size(), 1u);
  EXPECT_EQ(batch.rows[0].count, 60);
  ASSERT_EQ(batch.last_used.size(), 1u);
}

TEST(UsageRecorderTest, PastItsBoundTheOldestMinutesAreDroppedAndCounted) {
  UsageRecorder u(1000);
  auto a = Key("key_a", "ws");
  // 1500 minutes, 2 verifications each, while storage refuses them.
  for (int m = 0; m < 1500; ++m) {
    u.Record(a, Code::kValid, m * kMillisPerMinute);
    u.Record(a, Code::kValid, m * kMillisPerMinute + 1);
    if (m % 100 == 99) u.Restore(u.DrainAll());
  }
  u.Restore(u.DrainAll());
  const UsageStats st = u.Stats();
  EXPECT_EQ(st.pending_rows, 1000u);
  EXPECT_EQ(st.dropped_rows, 500u);
  EXPECT_EQ(st.dropped, 1000u);  // verifications, not rows
  UsageBatch batch = u.DrainAll();
  int64_t kept = 0;
  int64_t oldest = INT64_MAX;
  for (const auto& r : batch.rows) {
    kept += r.count;
    oldest = std::min(oldest, r.minute);
  }
  EXPECT_EQ(kept + static_cast<int64_t>(st.dropped), 3000);
  EXPECT_EQ(oldest, 500);  // the newest minutes are the ones kept
}

TEST(UsageRecorderTest, NoCountIsLostAcrossThreads) {
  UsageRecorder u;
  auto a = Key("key_a", "ws");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) u.Record(a, Code::kValid, 1'000'000);
    });
  }
  int64_t drained = 0;
  for (int i = 0; i < 5; ++i) {
    for (const auto& r : u.DrainAll().rows) drained += r.count;
  }
  for (auto& t : threads) t.join();
  for (const auto& r : u.DrainAll().rows) drained += r.count;
  EXPECT_EQ(drained, 40000);
}

// Serving threads that come and go (each counts into a buffer of its own)
// and two recorders used from the same threads: every count arrives once,
// in its own recorder.
TEST(UsageRecorderTest, ThreadsThatComeAndGoAndTwoRecordersKeepEveryCount) {
  UsageRecorder u, other;
  auto a = Key("key_a", "ws");
  auto b = Key("key_b", "ws");
  int64_t drained_u = 0, drained_other = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 500; ++i) {
          u.Record(a, Code::kValid, 1'000'000, 2);
          other.Record(b, Code::kRevoked, 1'000'000);
        }
      });
    }
    for (const auto& r : u.DrainAll().rows) drained_u += r.count;  // while they record
    for (auto& t : threads) t.join();
  }
  for (const auto& r : u.DrainAll().rows) drained_u += r.count;
  for (const auto& r : other.DrainAll().rows) {
    EXPECT_EQ(r.key_id, "key_b");
    drained_other += r.count;
  }
  EXPECT_EQ(drained_u, 20 * 3 * 500);
  EXPECT_EQ(drained_other, 20 * 3 * 500);
}

// One batch, rows merged per key id across threads and sorted, so that
// two nodes writing the same rows take their locks in one order.
// Thousands of counters in one thread's table, which grows many times while
// they are counted: every count lands on its own key, minute and code.
TEST(UsageRecorderTest, EveryCounterSurvivesItsTableGrowing) {
  UsageRecorder u(100'000);
  std::vector<KeyRef> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back(Key("key_" + std::to_string(100000 + i), "ws"));
  const Timestamp t = 1'700'000'000'000 / kMillisPerMinute * kMillisPerMinute;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) {
      for (int n = 0; n <= i % 3; ++n) u.Record(keys[i], Code::kValid, t + (i % 2) * 60'000, 2);
      if (i % 5 == 0) u.Record(keys[i], Code::kRevoked, t);
    }
  }
  const UsageBatch batch = u.DrainAll();
  ASSERT_EQ(batch.rows.size(), 5000u + 1000u);
  for (const UsageRow& r : batch.rows) {
    const int i = std::stoi(r.key_id.substr(4)) - 100000;
    if (r.code == Code::kRevoked) {
      EXPECT_EQ(r.count, 3) << r.key_id;
      EXPECT_EQ(r.minute, t / kMillisPerMinute);
    } else {
      EXPECT_EQ(r.count, 3 * (i % 3 + 1)) << r.key_id;
      EXPECT_EQ(r.credits, 2 * r.count) << r.key_id;
      EXPECT_EQ(r.minute, t / kMillisPerMinute + i % 2) << r.key_id;
    }
  }
}

TEST(UsageRecorderTest, ADrainMergesThreadsAndSortsRows) {
  UsageRecorder u;
  auto a = Key("key_a", "ws");
  auto b = Key("key_b", "ws");
  std::thread t1([&] {
    u.Record(b, Code::kValid, 60'000, 1);
    u.Record(a, Code::kValid, 60'000, 1);
  });
  t1.join();
  std::thread t2([&] { u.Record(a, Code::kValid, 60'500, 3); });
  t2.join();
  UsageBatch batch = u.DrainAll();
  ASSERT_EQ(batch.rows.size(), 2u);
  EXPECT_EQ(batch.rows[0].key_id, "key_a");
  EXPECT_EQ(batch.rows[0].count, 2);
  EXPECT_EQ(batch.rows[0].credits, 4);
  EXPECT_EQ(batch.rows[1].key_id, "key_b");
  ASSERT_EQ(batch.last_used.size(), 2u);
  EXPECT_EQ(batch.last_used[0].first, "key_a");
  EXPECT_EQ(batch.last_used[0].second, 60'000);  // to the second, as last_used_at is shown
}

// Writing a key's last use rewrites its row: with many keys in use, a
// periodic drain carries their last uses once a minute, not every second.
// Counts always go at once; so do last uses while few keys wait, and all of
// them on DrainAll (a stop).
TEST(UsageRecorderTest, ManyLastUsesGoOnceAMinuteAndFewGoAtOnce) {
  // A drain's share larger than what waits here: how chunks go is the next
  // test's.
  UsageRecorder u(200'000, /*last_uses_per_drain=*/10'000);
  const Timestamp t = 1'700'000'000'000;
  Timestamp mono = 5'000'000;
  // The first periodic drain takes whatever waits.
  u.Record(Key("key_first", "ws"), Code::kValid, t);
  EXPECT_EQ(u.Drain(mono).last_used.size(), 1u);

  std::vector<KeyRef> keys;
  const size_t n = UsageRecorder::kEagerLastUses + 1;
  for (size_t i = 0; i < n; ++i) keys.push_back(Key("key_" + std::to_string(i), "ws"));
  for (const KeyRef& k : keys) u.Record(k, Code::kValid, t + 1000);
  mono += 1000;
  UsageBatch early = u.Drain(mono);
  EXPECT_EQ(early.rows.size(), n);  // the counts went
  EXPECT_TRUE(early.last_used.empty());
  // More uses of the same keys meanwhile: one entry each when they go.
  for (const KeyRef& k : keys) u.Record(k, Code::kValid, t + 30'000);
  mono += UsageRecorder::kLastUsesEvery - 1000;
  UsageBatch due = u.Drain(mono);
  ASSERT_EQ(due.last_used.size(), n);
  for (const auto& [id, at] : due.last_used) EXPECT_EQ(at, t + 30'000) << id;

  // Within the minute again, a few waiting keys go with the next drain.
  u.Record(keys[0], Code::kValid, t + 45'000);
  mono += 1000;
  UsageBatch few = u.Drain(mono);
  ASSERT_EQ(few.last_used.size(), 1u);
  EXPECT_EQ(few.last_used[0].second, t + 45'000);

  // Many waiting, and a stop: DrainAll takes them all.
  for (const KeyRef& k : keys) u.Record(k, Code::kValid, t + 50'000);
  mono += 1000;
  EXPECT_TRUE(u.Drain(mono).last_used.empty());
  EXPECT_EQ(u.DrainAll().last_used.size(), n);
}

// A collection larger than a drain's share is written over the next
// drains, oldest listed first, each key once with its latest use; keys used
// again after they went wait for the next collection, made only once this
// one is written, even when a minute has passed; DrainAll takes the rest.
TEST(UsageRecorderTest, ALargeCollectionIsWrittenAChunkADrain) {
  constexpr size_t kChunk = 1'000;
  UsageRecorder u(200'000, kChunk);
  const Timestamp t = 1'700'000'000'000;
  Timestamp mono = 5'000'000;
  const size_t n = UsageRecorder::kEagerLastUses + 2 * kChunk + 500;  // 4,500
  std::vector<KeyRef> keys;
  for (size_t i = 0; i < n; ++i) keys.push_back(Key("key_" + std::to_string(i), "ws"));
  for (const KeyRef& k : keys) u.Record(k, Code::kValid, t);

  std::map<std::string, Timestamp, std::less<>> written;
  auto write = [&](const UsageBatch& b) {
    for (const auto& [id, at] : b.last_used) {
      EXPECT_TRUE(written.emplace(id, at).second) << id << " written twice";
    }
    return b.last_used.size();
  };
  // The first drain collects all of them and writes the oldest chunk.
  UsageBatch first = u.Drain(mono);
  EXPECT_EQ(first.rows.size(), n);  // the counts all go at once
  ASSERT_EQ(write(first), kChunk);
  for (size_t i = 0; i < kChunk; ++i) EXPECT_TRUE(written.count(keys[i]->id())) << i;

  // Used again meanwhile: keys[0] (already written) waits for the next
  // collection; keys[n - 1] (not yet written) goes with its latest use.
  u.Record(keys[0], Code::kValid, t + 5'000);
  u.Record(keys[n - 1], Code::kValid, t + 5'000);
  size_t drains = 1;
  while (written.size() < n) {
    // A minute passes while the collection is written: no new one yet.
    mono += drains == 1 ? UsageRecorder::kLastUsesEvery : 1000;
    const size_t wrote = write(u.Drain(mono));
    ASSERT_GT(wrote, 0u) << "a collection stalled at " << written.size();
    EXPECT_LE(wrote, kChunk);
    ++drains;
  }
  EXPECT_EQ(drains, 5u);  // 4,500 keys, 1,000 a drain
  EXPECT_EQ(written.find(keys[0]->id())->second, t);
  EXPECT_EQ(written.find(keys[n - 1]->id())->second, t + 5'000);
  // The collection is done and one key waits: it goes with the next drain.
  mono += 1000;
  UsageBatch next = u.Drain(mono);
  ASSERT_EQ(next.last_used.size(), 1u);
  EXPECT_EQ(next.last_used[0], std::make_pair(std::string(keys[0]->id()), t + 5'000));

  // A stop in the middle of a collection: DrainAll writes what is left.
  for (const KeyRef& k : keys) u.Record(k, Code::kValid, t + 70'000);
  mono += UsageRecorder::kLastUsesEvery;
  EXPECT_EQ(u.Drain(mono).last_used.size(), kChunk);
  const UsageBatch rest = u.DrainAll();
  EXPECT_EQ(rest.last_used.size(), n - kChunk);
  for (const auto& [id, at] : rest.last_used) EXPECT_EQ(at, t + 70'000) << id;
}

// A use in a second already taken is not listed again; a later second is.
TEST(UsageRecorderTest, AKeyIsWrittenAgainOnlyWhenItsLastUseMoves) {
  UsageRecorder u;
  auto a = Key("key_a", "ws");
  u.Record(a, Code::kValid, 10'000);
  EXPECT_EQ(u.DrainAll().last_used.size(), 1u);
  u.Record(a, Code::kValid, 10'999);    // the same second
  u.Record(a, Code::kRevoked, 11'000);  // not a valid use
  EXPECT_TRUE(u.DrainAll().last_used.empty());
  u.Record(a, Code::kValid, 9'000);  // a clock that stepped back moves nothing
  EXPECT_TRUE(u.DrainAll().last_used.empty());
  u.Record(a, Code::kValid, 12'000);
  const UsageBatch batch = u.DrainAll();
  ASSERT_EQ(batch.last_used.size(), 1u);
  EXPECT_EQ(batch.last_used[0].second, 12'000);
}

// Three threads noting uses of n_keys shared keys, second after second
// for `seconds`, while another drains; then a stop. What storage ends up
// with for each key is the last second used. (NoteUse and TakeUse race on
// the record's listed flag: a use noted as the drain takes the record must
// be taken or listed again, never lost.)
void ExpectNoLastUseLost(UsageRecorder& u, int n_keys, int seconds) {
  std::vector<KeyRef> keys;
  for (int i = 0; i < n_keys; ++i) keys.push_back(Key("key_" + std::to_string(i), "ws"));
  std::atomic<bool> done{false};
  std::map<std::string, Timestamp> stored;
  auto store = [&](const UsageBatch& b) {
    for (const auto& [id, at] : b.last_used) stored[id] = std::max(stored[id], at);
  };
  std::thread drainer([&] {
    Timestamp mono = 0;
    while (!done.load()) store(u.Drain(mono += 1000));
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 1; s <= seconds; ++s) {
        for (size_t k = 0; k < keys.size(); ++k) {
          if ((s + static_cast<int>(k) + t) % 3 != 0) u.Record(keys[k], Code::kValid, s * 1000);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  drainer.join();
  store(u.DrainAll());
  ASSERT_EQ(stored.size(), keys.size());
  for (const auto& [id, at] : stored) EXPECT_EQ(at, seconds * 1000) << id;
}

TEST(UsageRecorderTest, NoLastUseIsLostToADrainRunningAlongside) {
  UsageRecorder u;
  ExpectNoLastUseLost(u, 8, 2000);
}

// More keys waiting than a drain writes, so that uses are collected once a
// minute and written in chunks while threads note more.
TEST(UsageRecorderTest, NoLastUseIsLostWhileACollectionIsWrittenInChunks) {
  UsageRecorder u(200'000, /*last_uses_per_drain=*/500);
  ExpectNoLastUseLost(u, 3'000, 150);
}

}  // namespace
}  // namespace keyward
