// Issue 10, part 1: concurrent changes to one key were lost (two PATCHes on
// different fields lost one; a PATCH racing a rotation wrote back the old
// key's expiry, leaving a rotated-out key that never expires). Races each
// pair of writers on one key, many rounds: every answered change must be
// there afterwards, and a rotated key must always expire.
// KEYWARD_RACE_ROUNDS sets the rounds (default 200; 1000 for the record).
#include <gtest/gtest.h>

#include <cstdlib>
#include <latch>
#include <thread>

#include "core/key_service.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

int Rounds() {
  const char* env = std::getenv("KEYWARD_RACE_ROUNDS");
  return env != nullptr ? std::atoi(env) : 200;
}

class KeyServiceRaceTest : public ::testing::Test {
 protected:
  KeyServiceRaceTest() : format_(std::move(KeyFormat::Create("asa", {"live"})).value()) {
    auto s = SqliteStore::Open(dir_.File("keyward.db"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    KeyServiceOptions o;
    o.store = store_.get();
    o.format = &format_;
    o.clock = &clock_;
    o.default_max_active = 100000;
    service_ = std::make_unique<KeyService>(o);
    ws_ = service_->CreateWorkspace("race", std::nullopt, actor_)->id;
  }

  ApiKey NewKey(int round) {
    NewKeyParams p;
    p.workspace_id = ws_;
    p.environment = "live";
    p.name = "k" + std::to_string(round);
    auto k = service_->CreateKey(p, actor_);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return k->record;
  }

  // Runs a and b at once, as close together as threads allow.
  template <typename A, typename B>
  static void Race(A a, B b) {
    std::latch go(2);
    std::thread ta([&] {
      go.arrive_and_wait();
      a();
    });
    std::thread tb([&] {
      go.arrive_and_wait();
      b();
    });
    ta.join();
    tb.join();
  }

  keyward::testing::TempDir dir_;
  KeyFormat format_;
  ManualClock clock_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<KeyService> service_;
  Actor actor_{"rk_race", "127.0.0.1"};
  std::string ws_;
};

TEST_F(KeyServiceRaceTest, PatchAgainstPatchLosesNothing) {
  for (int round = 0; round < Rounds(); ++round) {
    const ApiKey k = NewKey(round);
    KeyUpdate name, meta;
    name.name = "renamed-" + std::to_string(round);
    meta.meta_json = "{\"round\":" + std::to_string(round) + "}";
    Status a, b;
    Race([&] { a = service_->UpdateKey(k.id, name, actor_).status(); },
         [&] { b = service_->UpdateKey(k.id, meta, actor_).status(); });
    ASSERT_TRUE(a.ok() && b.ok()) << a.ToString() << " / " << b.ToString();
    const ApiKey stored = *service_->GetKey(k.id);
    ASSERT_EQ(stored.name, *name.name) << "round " << round << ": the rename was lost";
    ASSERT_EQ(stored.meta_json, *meta.meta_json) << "round " << round << ": the meta was lost";
  }
}

TEST_F(KeyServiceRaceTest, PatchAgainstRotateAlwaysLeavesTheOldKeyExpiring) {
  for (int round = 0; round < Rounds(); ++round) {
    const ApiKey k = NewKey(round);
    KeyUpdate u;
    u.name = "renamed-" + std::to_string(round);
    // Every other round the PATCH also tries to clear the expiry.
    if (round % 2) u.expires_at = std::optional<Timestamp>();
    Result<ApiKey> patched = Status::Internal("not run");
    Result<CreatedKey> rotated = Status::Internal("not run");
    Race([&] { patched = service_->UpdateKey(k.id, u, actor_); },
         [&] { rotated = service_->RotateKey(k.id, 60, std::nullopt, actor_); });
    ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
    const ApiKey old = *service_->GetKey(k.id);
    ASSERT_TRUE(old.expires_at.has_value())
        << "round " << round << ": the rotated key never expires";
    ASSERT_LE(*old.expires_at, clock_.Now() + 60'000);
    if (patched.ok()) {
      ASSERT_EQ(old.name, *u.name) << "round " << round << ": an answered rename was lost";
    } else {
      // Only a PATCH that would keep a replaced key alive may be refused.
      ASSERT_TRUE(u.expires_at.has_value()) << patched.status().ToString();
      ASSERT_EQ(patched.status().code(), Code::kConflict) << patched.status().ToString();
    }
  }
}

TEST_F(KeyServiceRaceTest, RotateAgainstRotateReplacesOnce) {
  for (int round = 0; round < Rounds(); ++round) {
    const ApiKey k = NewKey(round);
    Result<CreatedKey> a = Status::Internal("not run"), b = Status::Internal("not run");
    Race([&] { a = service_->RotateKey(k.id, 60, std::nullopt, actor_); },
         [&] { b = service_->RotateKey(k.id, 60, std::nullopt, actor_); });
    ASSERT_NE(a.ok(), b.ok()) << "round " << round << ": " << a.status().ToString() << " / "
                              << b.status().ToString();
    const Status& refused = a.ok() ? b.status() : a.status();
    ASSERT_EQ(refused.code(), Code::kConflict) << refused.ToString();
    KeyFilter f;
    f.workspace_id = ws_;
    // Newest first: any replacement is among the last few keys.
    auto recent = service_->ListKeys(f, {"", 10});
    ASSERT_TRUE(recent.ok());
    int heirs = 0;
    for (const auto& key : recent->items) heirs += key.rotated_from == k.id;
    ASSERT_EQ(heirs, 1) << "round " << round;
  }
}

}  // namespace
}  // namespace keyward
