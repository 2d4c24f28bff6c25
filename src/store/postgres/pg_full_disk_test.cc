// A real full disk under PostgreSQL: the test database lives in a tablespace
// on a small tmpfs (mounted here; the write-ahead log stays on the server's
// own disk, as the README asks of a deployment), keys are created until
// PostgreSQL answers disk_full, and then a revocation must still commit, on
// the space PgReserve held back. Needs root (mount); CI runs as root.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/sha256.h"
#include "store/guard/guarded_store.h"
#include "store/postgres/pg_reserve.h"
#include "store/postgres/pg_store.h"
#include "testing/postgres_db.h"

namespace keyward {
namespace {

bool Admin(const std::string& sql, std::string* error) {
  PGconn* c = PQconnectdb(testing::PostgresDb::AdminUrl().c_str());
  bool done = PQstatus(c) == CONNECTION_OK;
  if (done) {
    PGresult* r = PQexec(c, sql.c_str());
    done = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!done) *error = PQresultErrorMessage(r);
    PQclear(r);
  } else {
    *error = PQerrorMessage(c);
  }
  PQfinish(c);
  return done;
}

AuditEntry Audit(int n) {
  AuditEntry e;
  e.id = "evt_" + std::to_string(n);
  e.at = 1;
  e.actor = "test";
  e.action = "key.create";
  e.target = "t";
  return e;
}

// Random text, so that PostgreSQL's compression cannot shrink it.
std::string Noise(std::mt19937_64& rng, size_t n) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(n, ' ');
  for (char& c : s) c = kChars[rng() % (sizeof kChars - 1)];
  return s;
}

class PgFullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs as root)";
    ASSERT_FALSE(testing::PostgresDb::AdminUrl().empty()) << "KEYWARD_TEST_POSTGRES_URL unset";
    const passwd* pg = ::getpwnam("postgres");
    ASSERT_NE(pg, nullptr) << "no postgres user";
    std::string tmpl = (std::filesystem::temp_directory_path() / "keyward-pgfull-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    mount_ = tmpl;
    const std::string opts = "size=64m,mode=0700,uid=" + std::to_string(pg->pw_uid) +
                             ",gid=" + std::to_string(pg->pw_gid);
    ASSERT_EQ(::mount("tmpfs", mount_.c_str(), "tmpfs", 0, opts.c_str()), 0)
        << std::strerror(errno);
    mounted_ = true;
    const std::string suffix = std::to_string(std::random_device{}());
    tablespace_ = "kw_full_ts_" + suffix;
    database_ = "kw_full_db_" + suffix;
    std::string error;
    ASSERT_TRUE(Admin("CREATE TABLESPACE " + tablespace_ + " LOCATION '" + mount_ + "'", &error))
        << error;
    ASSERT_TRUE(Admin("CREATE DATABASE " + database_ + " TABLESPACE " + tablespace_, &error))
        << error;
    const std::string admin = testing::PostgresDb::AdminUrl();
    // The admin URL names the database "postgres": this one instead.
    const std::string url =
        admin.substr(0, admin.find("/postgres?")) + "/" + database_ + admin.substr(admin.find('?'));
    auto opened = PgStore::Open(url, 2);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    engine_ = std::move(*opened);
    reserve_ = std::make_unique<PgReserve>(engine_.get(), 256 * 1024);
    ASSERT_TRUE(reserve_->Fill().ok());
    GuardedStoreOptions o;
    o.base = engine_.get();
    o.reserve = reserve_.get();
    o.probe_every = std::chrono::milliseconds(0);
    guard_ = std::make_unique<GuardedStore>(std::move(o));
    // A new database is a copy of a template of several megabytes: made on
    // a roomy volume, which now shrinks to leave about a megabyte free.
    struct statvfs st {};
    ASSERT_EQ(::statvfs(mount_.c_str(), &st), 0);
    const uint64_t used = static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
    const std::string size = "size=" + std::to_string(used + 1024 * 1024);
    ASSERT_EQ(::mount("tmpfs", mount_.c_str(), "tmpfs", MS_REMOUNT, size.c_str()), 0)
        << std::strerror(errno);
  }

  void TearDown() override {
    guard_.reset();
    reserve_.reset();
    engine_.reset();
    std::string error;
    if (!database_.empty()) Admin("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)", &error);
    if (!tablespace_.empty()) Admin("DROP TABLESPACE IF EXISTS " + tablespace_, &error);
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
    if (!mount_.empty()) ::rmdir(mount_.c_str());
  }

  std::string mount_, tablespace_, database_;
  bool mounted_ = false;
  std::unique_ptr<PgStore> engine_;
  std::unique_ptr<PgReserve> reserve_;
  std::unique_ptr<GuardedStore> guard_;
};

TEST_F(PgFullDiskTest, ARevocationCommitsOnTheReserveAndNothingAnsweredIsLost) {
  Workspace ws;
  ws.id = "ws_1";
  ws.name = "w";
  ws.created_at = 1;
  ASSERT_TRUE(guard_->CreateWorkspace(ws, Audit(0)).ok());
  std::mt19937_64 rng(42);
  std::vector<std::string> stored;
  Status last;
  for (int i = 1; i < 20000; ++i) {
    ApiKey k;
    k.id = "key_" + std::to_string(i);
    k.hash = Sha256(k.id);
    k.short_prefix = "sk_live_abc";
    k.workspace_id = "ws_1";
    k.environment = "live";
    k.name = Noise(rng, 1500);
    k.created_at = 10;
    k.created_by = "test";
    last = guard_->InsertKey(k, 1'000'000, 10, Audit(i));
    if (!last.ok()) break;
    stored.push_back(k.id);
  }
  ASSERT_EQ(last.code(), Code::kStorageFull) << last.ToString();
  EXPECT_EQ(last.fault(), StorageFault::kFull);
  ASSERT_GT(stored.size(), 10u);
  EXPECT_EQ(guard_->fault(), StorageFault::kFull);

  // The disk is full, and a leaked key must still be revoked.
  auto revoked = guard_->RevokeKey(stored.front(), 20, "test", "leaked", Audit(100000));
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_EQ(guard_->Stats().reserve_releases, 1u);
  EXPECT_TRUE(engine_->GetKey(stored.front())->revoked_at.has_value());
  // Other changes wait for space.
  EXPECT_EQ(guard_->CreateWorkspace(ws, Audit(100001)).code(), Code::kStorageFull);

  // Space returns (the volume grows): the guard refills the reserve and
  // lets changes in again, without a restart.
  ASSERT_EQ(::mount("tmpfs", mount_.c_str(), "tmpfs", MS_REMOUNT, "size=128m"), 0)
      << std::strerror(errno);
  guard_->Check();
  EXPECT_EQ(guard_->fault(), StorageFault::kNone);
  EXPECT_EQ(reserve_->held(), reserve_->size());
  Workspace ws2 = ws;
  ws2.id = "ws_2";
  EXPECT_TRUE(guard_->CreateWorkspace(ws2, Audit(100002)).ok());
  // Every key answered Ok is there.
  for (const auto& id : stored) ASSERT_TRUE(engine_->GetKey(id).ok()) << id;
}

}  // namespace
}  // namespace keyward
