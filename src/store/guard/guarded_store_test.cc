#include "store/guard/guarded_store.h"

#include "store/guard/disk_reserve.h"

#include <gtest/gtest.h>

#include <sqlite3.h>
#include <atomic>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "core/sha256.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/key_store_wrapper.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

// A real SQLite store behind a switchable fault: while `fault` is set,
// every write (and, with reads_fail, every read) answers it, as an engine
// meeting that fault would. A full disk lets writes through again once the
// reserve has been released, as the freed space would.
class FaultyStore : public testing::KeyStoreWrapper {
 public:
  FaultyStore(KeyStore* base, const DiskReserve* reserve)
      : KeyStoreWrapper(base), reserve_(reserve) {}

  std::atomic<StorageFault> fault{StorageFault::kNone};
  std::atomic<bool> reads_fail{false};
  std::atomic<int> writes{0};  // writes that reached the engine

  Status CreateWorkspace(const Workspace& ws, const AuditEntry& a) override {
    KEYWARD_RETURN_IF_ERROR(WriteFault());
    return KeyStoreWrapper::CreateWorkspace(ws, a);
  }
  Status InsertKey(const ApiKey& k, int64_t max, Timestamp now, const AuditEntry& a) override {
    KEYWARD_RETURN_IF_ERROR(WriteFault());
    return KeyStoreWrapper::InsertKey(k, max, now, a);
  }
  Result<ApiKey> RevokeKey(std::string_view id, Timestamp at, std::string_view by,
                           std::string_view reason, const AuditEntry& a) override {
    KEYWARD_RETURN_IF_ERROR(WriteFault());
    return KeyStoreWrapper::RevokeKey(id, at, by, reason, a);
  }
  Result<std::vector<ImportedKey>> ImportKeys(const std::vector<ImportKeyRow>& rows,
                                              const ImportAudit& audit, bool dry_run) override {
    KEYWARD_RETURN_IF_ERROR(WriteFault());
    return KeyStoreWrapper::ImportKeys(rows, audit, dry_run);
  }
  Status RecordUsage(const UsageBatch& b) override {
    KEYWARD_RETURN_IF_ERROR(WriteFault());
    return KeyStoreWrapper::RecordUsage(b);
  }
  Status ProbeWrite() override {
    KEYWARD_RETURN_IF_ERROR(WriteFault());
    return KeyStoreWrapper::ProbeWrite();
  }
  Result<ApiKey> GetKey(std::string_view id) override {
    if (reads_fail) return Status::Storage(fault.load(), "injected read fault");
    return KeyStoreWrapper::GetKey(id);
  }
  Status Ping() override {
    if (reads_fail) return Status::Storage(fault.load(), "injected read fault");
    return KeyStoreWrapper::Ping();
  }

 private:
  Status WriteFault() {
    ++writes;
    const StorageFault f = fault.load();
    if (f == StorageFault::kNone) return Status::Ok();
    if (f == StorageFault::kFull && reserve_ != nullptr && reserve_->held() == 0) {
      return Status::Ok();  // the released reserve made room
    }
    return Status::Storage(f, "injected");
  }
  const DiskReserve* reserve_;
};

AuditEntry Audit() {
  AuditEntry e;
  e.id = "evt_" + std::to_string(std::rand());
  e.at = 1;
  e.actor = "test";
  e.action = "test";
  e.target = "t";
  return e;
}

Workspace Ws(const std::string& id) {
  Workspace w;
  w.id = id;
  w.name = id;
  w.created_at = 1;
  return w;
}

ApiKey Key(const std::string& id) {
  ApiKey k;
  k.id = id;
  k.hash = Sha256(id);
  k.short_prefix = "sk_live_abc";
  k.workspace_id = "ws_1";
  k.environment = "live";
  k.name = "n";
  k.created_at = 10;
  k.created_by = "test";
  return k;
}

struct Transition {
  StorageFault before, now;
};

class GuardedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::Open(dir_.File("keyward.db"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    engine_ = std::move(*opened);
    reserve_ = std::make_unique<DiskReserve>(dir_.File("keyward.reserve"), 64 * 1024);
    ASSERT_TRUE(reserve_->Fill().ok());
    faulty_ = std::make_unique<FaultyStore>(engine_.get(), reserve_.get());
    GuardedStoreOptions o;
    o.base = faulty_.get();
    o.reserve = reserve_.get();
    o.on_change = [this](StorageFault before, StorageFault now, const std::string&) {
      transitions_.push_back({before, now});
    };
    o.on_reserve_released = [this](uint64_t bytes) { released_bytes_ += bytes; };
    o.probe_every = std::chrono::milliseconds(0);
    guard_ = std::make_unique<GuardedStore>(std::move(o));
    ASSERT_TRUE(guard_->CreateWorkspace(Ws("ws_1"), Audit()).ok());
    ASSERT_TRUE(guard_->InsertKey(Key("key_1"), 100, 10, Audit()).ok());
  }

  uint64_t ReserveFileBytes() {
    return std::filesystem::exists(dir_.File("keyward.reserve"))
               ? std::filesystem::file_size(dir_.File("keyward.reserve"))
               : 0;
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> engine_;
  std::unique_ptr<DiskReserve> reserve_;
  std::unique_ptr<FaultyStore> faulty_;
  std::unique_ptr<GuardedStore> guard_;
  std::vector<Transition> transitions_;      // on_change runs under the guard's lock
  std::atomic<uint64_t> released_bytes_{0};  // revocations run on any thread
};

TEST_F(GuardedStoreTest, AFullDiskRefusesChangesButARevocationCommitsOnTheReserve) {
  EXPECT_EQ(ReserveFileBytes(), 64u * 1024);
  faulty_->fault = StorageFault::kFull;
  Status s = guard_->CreateWorkspace(Ws("ws_2"), Audit());
  EXPECT_EQ(s.code(), Code::kStorageFull);
  EXPECT_EQ(guard_->fault(), StorageFault::kFull);
  // Refused at once from now on: the engine is not even asked, so nothing
  // can take the space the reserve will free.
  const int reached = faulty_->writes;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(guard_->InsertKey(Key("key_x" + std::to_string(i)), 100, 10, Audit()).code(),
              Code::kStorageFull);
  }
  EXPECT_EQ(faulty_->writes, reached);
  EXPECT_EQ(guard_->Stats().refused_changes, 5u);
  EXPECT_EQ(guard_->Readiness().code(), Code::kStorageFull);

  auto revoked = guard_->RevokeKey("key_1", 20, "test", "leaked", Audit());
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_TRUE(engine_->GetKey("key_1")->revoked_at.has_value());
  EXPECT_EQ(released_bytes_.load(), 64u * 1024);
  EXPECT_EQ(ReserveFileBytes(), 0u);
  EXPECT_EQ(guard_->Stats().reserve_releases, 1u);
  // A revocation that worked on the reserve does not end the fault.
  EXPECT_EQ(guard_->fault(), StorageFault::kFull);
  EXPECT_EQ(guard_->CreateWorkspace(Ws("ws_3"), Audit()).code(), Code::kStorageFull);
  ASSERT_EQ(transitions_.size(), 1u);
  EXPECT_EQ(transitions_[0].now, StorageFault::kFull);
}

// An import ends no access: it is an ordinary change, refused at once
// during a fault (a dry run too) and never given the reserve.
TEST_F(GuardedStoreTest, AnImportIsAChangeThatAFullDiskRefuses) {
  const std::vector<ImportKeyRow> rows = {{Key("key_imported"), true}};
  faulty_->fault = StorageFault::kFull;
  auto met = guard_->ImportKeys(rows, nullptr, /*dry_run=*/false);
  EXPECT_EQ(met.status().code(), Code::kStorageFull);
  EXPECT_EQ(guard_->fault(), StorageFault::kFull);
  const int reached = faulty_->writes;
  const uint64_t refused = guard_->Stats().refused_changes;
  for (const bool dry_run : {false, true}) {
    EXPECT_EQ(guard_->ImportKeys(rows, nullptr, dry_run).status().code(), Code::kStorageFull);
  }
  EXPECT_EQ(faulty_->writes, reached);
  EXPECT_EQ(guard_->Stats().refused_changes, refused + 2);
  EXPECT_EQ(guard_->Stats().reserve_releases, 0u);
  EXPECT_EQ(ReserveFileBytes(), 64u * 1024);
  EXPECT_TRUE(engine_->GetKey("key_imported").status().IsNotFound());
  faulty_->fault = StorageFault::kNone;
  guard_->Check();
  ASSERT_EQ(guard_->fault(), StorageFault::kNone);
  auto imported = guard_->ImportKeys(rows, nullptr, /*dry_run=*/false);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  ASSERT_EQ(imported->size(), 1u);
  EXPECT_EQ((*imported)[0].outcome, ImportOutcome::kImported);
  EXPECT_TRUE(engine_->GetKey("key_imported").ok());
}

// Plans, credits and the export: the reads answer during a fault, the
// changes are refused without reaching the engine; a lease that only reads
// (want 0) is a read.
TEST_F(GuardedStoreTest, DuringAFaultPlanAndCreditReadsAnswerAndTheirChangesAreRefused) {
  Plan plan;
  plan.id = "plan_1";
  plan.name = "Starter";
  ASSERT_TRUE(guard_->InsertPlan(plan, Audit()).ok());
  CreditLeaseRequest lease;
  lease.id = {"ws/ws_1/live", 1};
  lease.limit = 100;
  lease.node_id = "node_1";
  lease.now = 10;
  faulty_->fault = StorageFault::kFull;
  ASSERT_EQ(guard_->CreateWorkspace(Ws("ws_2"), Audit()).code(), Code::kStorageFull);
  const uint64_t refused = guard_->Stats().refused_changes;
  EXPECT_TRUE(guard_->GetPlan("plan_1").ok());
  EXPECT_EQ(guard_->ListPlans()->size(), 1u);
  UsageExportQuery q;
  q.workspace_id = "ws_1";
  q.to_day = 1;
  EXPECT_TRUE(guard_->ExportUsage(q).ok());
  EXPECT_TRUE(guard_->CreditsSpent(lease.id).ok());
  auto read = guard_->LeaseCredits(lease);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->available, 100);
  EXPECT_EQ(guard_->Stats().refused_changes, refused);
  lease.min = 1;
  lease.want = 10;
  EXPECT_EQ(guard_->LeaseCredits(lease).status().code(), Code::kStorageFull);
  EXPECT_EQ(guard_->ReleaseCredits("node_1", {}).code(), Code::kStorageFull);
  EXPECT_EQ(guard_->InsertPlan(plan, Audit()).code(), Code::kStorageFull);
  EXPECT_EQ(guard_->UpdatePlan(plan, Audit()).code(), Code::kStorageFull);
  EXPECT_EQ(guard_->Stats().refused_changes, refused + 4);
  EXPECT_EQ(engine_->LeaseCredits(CreditLeaseRequest{lease.id, 100, 0, 0, "node_1", 10, 0})->held,
            0);
}

TEST_F(GuardedStoreTest, RecoversWhenSpaceReturnsAndRefillsTheReserve) {
  faulty_->fault = StorageFault::kFull;
  ASSERT_EQ(guard_->CreateWorkspace(Ws("ws_2"), Audit()).code(), Code::kStorageFull);
  ASSERT_TRUE(guard_->RevokeKey("key_1", 20, "test", "leaked", Audit()).ok());
  // Room for the reserve again, but writes still fail (the injected fault
  // holds once the reserve is refilled): the probe fails and the fault
  // stays, with the reserve held for the next revocation.
  guard_->Check();
  EXPECT_EQ(guard_->fault(), StorageFault::kFull);
  EXPECT_EQ(ReserveFileBytes(), 64u * 1024);
  ASSERT_TRUE(guard_->RevokeKey("key_1", 21, "test", "again", Audit()).ok());
  EXPECT_EQ(guard_->Stats().reserve_releases, 2u);
  guard_->Check();
  faulty_->fault = StorageFault::kNone;
  guard_->Check();
  EXPECT_EQ(guard_->fault(), StorageFault::kNone);
  EXPECT_EQ(guard_->Stats().reserve_bytes, 64u * 1024);
  EXPECT_EQ(ReserveFileBytes(), 64u * 1024);
  EXPECT_TRUE(guard_->CreateWorkspace(Ws("ws_2"), Audit()).ok());
  EXPECT_TRUE(guard_->Readiness().ok());
  ASSERT_FALSE(transitions_.empty());
  EXPECT_EQ(transitions_.back().now, StorageFault::kNone);
}

TEST_F(GuardedStoreTest, EachFaultIsReportedOnceNotOncePerRequest) {
  faulty_->fault = StorageFault::kReadOnly;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(guard_->CreateWorkspace(Ws("ws_" + std::to_string(i + 10)), Audit()).code(),
              Code::kUnavailable);
    guard_->Check();
  }
  ASSERT_EQ(transitions_.size(), 1u);
  EXPECT_EQ(transitions_[0].before, StorageFault::kNone);
  EXPECT_EQ(transitions_[0].now, StorageFault::kReadOnly);
  // A revocation is still tried (and, on a read-only disk, refused).
  auto r = guard_->RevokeKey("key_1", 20, "test", "leaked", Audit());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().fault(), StorageFault::kReadOnly);
  EXPECT_FALSE(engine_->GetKey("key_1")->revoked_at.has_value());
  faulty_->fault = StorageFault::kNone;
  guard_->Check();
  ASSERT_EQ(transitions_.size(), 2u);
  EXPECT_EQ(transitions_[1].now, StorageFault::kNone);
}

TEST_F(GuardedStoreTest, AnUnreadableFileFoundByAReadRefusesChangesUntilItReads) {
  faulty_->fault = StorageFault::kCorrupt;
  faulty_->reads_fail = true;
  EXPECT_EQ(guard_->GetKey("key_1").status().fault(), StorageFault::kCorrupt);
  EXPECT_EQ(guard_->fault(), StorageFault::kCorrupt);
  EXPECT_EQ(guard_->CreateWorkspace(Ws("ws_9"), Audit()).code(), Code::kUnavailable);
  faulty_->reads_fail = false;
  faulty_->fault = StorageFault::kNone;
  guard_->Check();
  EXPECT_EQ(guard_->fault(), StorageFault::kNone);
  EXPECT_TRUE(guard_->CreateWorkspace(Ws("ws_9"), Audit()).ok());
}

TEST_F(GuardedStoreTest, AnUnreachableServerNeverRefusesAChangeByItself) {
  faulty_->fault = StorageFault::kUnreachable;
  faulty_->reads_fail = true;
  EXPECT_EQ(guard_->GetKey("key_1").status().code(), Code::kUnavailable);
  EXPECT_EQ(guard_->fault(), StorageFault::kUnreachable);
  EXPECT_FALSE(guard_->Readiness().ok());
  // The server is back: the change is tried (not refused by the guard) and
  // ends the fault.
  faulty_->fault = StorageFault::kNone;
  faulty_->reads_fail = false;
  EXPECT_TRUE(guard_->CreateWorkspace(Ws("ws_7"), Audit()).ok());
  EXPECT_EQ(guard_->fault(), StorageFault::kNone);
}

TEST_F(GuardedStoreTest, ADeletedDatabaseIsNoticedWithoutAWriteAndReopenedWhenRestored) {
  const std::string db = dir_.File("keyward.db");
  testing::TempDir backup;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::copy_file(db + suffix, backup.File(std::string("keyward.db") + suffix));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  guard_->Check();
  EXPECT_EQ(guard_->fault(), StorageFault::kMissing);
  EXPECT_EQ(guard_->CreateWorkspace(Ws("ws_8"), Audit()).fault(), StorageFault::kMissing);
  // Nothing is created in its place behind the operator's back.
  guard_->Check();
  EXPECT_FALSE(std::filesystem::exists(db));
  EXPECT_EQ(guard_->fault(), StorageFault::kMissing);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::copy_file(backup.File(std::string("keyward.db") + suffix), db + suffix);
  }
  guard_->Check();
  EXPECT_EQ(guard_->fault(), StorageFault::kNone);
  EXPECT_TRUE(guard_->CreateWorkspace(Ws("ws_8"), Audit()).ok());
  EXPECT_TRUE(guard_->GetKey("key_1").ok());
}

TEST_F(GuardedStoreTest, ADatabaseFileThatBecameUnreadableIsNamedAndRefusesChanges) {
  // Everything into the main file, then its pages after the first
  // overwritten in place, as a failing disk or a stray write would.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("keyward.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  {
    std::fstream f(dir_.File("keyward.db"), std::ios::in | std::ios::out | std::ios::binary);
    const auto size = std::filesystem::file_size(dir_.File("keyward.db"));
    f.seekp(4096);
    const std::string garbage(size - 4096, '\xa5');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto read = guard_->GetKey("key_1");
  EXPECT_FALSE(read.ok());
  EXPECT_EQ(read.status().fault(), StorageFault::kCorrupt) << read.status().ToString();
  EXPECT_EQ(guard_->fault(), StorageFault::kCorrupt);
  EXPECT_EQ(guard_->CreateWorkspace(Ws("ws_c"), Audit()).code(), Code::kUnavailable);
  EXPECT_EQ(guard_->Readiness().fault(), StorageFault::kCorrupt);
  // Still unreadable: the probe keeps the fault.
  guard_->Check();
  EXPECT_EQ(guard_->fault(), StorageFault::kCorrupt);
}

// Run under ThreadSanitizer (make test-tsan): changes, revocations, reads and
// probes from several threads while the fault comes and goes. Every call
// answers Ok or a storage fault, and the guard ends healthy.
TEST_F(GuardedStoreTest, CallsAndProbesFromManyThreadsWhileTheFaultComesAndGoes) {
  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const std::string id = "ws_t" + std::to_string(t) + "_" + std::to_string(i);
        Status s = guard_->CreateWorkspace(Ws(id), Audit());
        if (!s.ok() && s.fault() == StorageFault::kNone) ++unexpected;
        auto r = guard_->RevokeKey("key_1", 20 + i, "test", "race", Audit());
        if (!r.ok() && r.status().fault() == StorageFault::kNone) ++unexpected;
        (void)guard_->GetKey("key_1");
        (void)guard_->Stats();
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) {
      faulty_->fault = i % 2 == 0 ? StorageFault::kFull : StorageFault::kNone;
      guard_->Check();
      std::this_thread::yield();
    }
    faulty_->fault = StorageFault::kNone;
    stop = true;
  });
  for (auto& t : threads) t.join();
  guard_->Check();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(guard_->fault(), StorageFault::kNone);
  EXPECT_TRUE(guard_->CreateWorkspace(Ws("ws_after_the_race"), Audit()).ok());
}

}  // namespace
}  // namespace keyward
