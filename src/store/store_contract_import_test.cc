// The store contract for imports (KeyStore::ImportKeys in core/key_store.h):
// keys made elsewhere, stored as given and idempotent by hash, in one
// transaction with their change log and audit entries. Part of
// StoreContractTest: instantiated on every engine by
// store/store_contract_test.cc (every test's name has "Import" in it).
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "store/store_contract_test.h"

namespace keyward {
namespace contract {
namespace {

const char* OutcomeName(ImportOutcome o) {
  switch (o) {
    case ImportOutcome::kImported:
      return "imported";
    case ImportOutcome::kUnchanged:
      return "unchanged";
    case ImportOutcome::kHashConflict:
      return "hash_conflict";
    case ImportOutcome::kIdConflict:
      return "id_conflict";
    case ImportOutcome::kNoWorkspace:
      return "no_workspace";
  }
  return "?";
}

// "imported:key_a", …: outcomes as a failure message shows them.
std::vector<std::string> Outcomes(const std::vector<ImportedKey>& got) {
  std::vector<std::string> out;
  for (const auto& k : got) out.push_back(std::string(OutcomeName(k.outcome)) + ":" + k.key_id);
  return out;
}

ImportKeyRow Row(ApiKey key, bool id_given = true) {
  return ImportKeyRow{std::move(key), id_given};
}

void ExpectSameKey(const ApiKey& got, const ApiKey& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.hash, want.hash);
  EXPECT_EQ(got.short_prefix, want.short_prefix);
  EXPECT_EQ(got.workspace_id, want.workspace_id);
  EXPECT_EQ(got.environment, want.environment);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.scopes, want.scopes);
  EXPECT_EQ(got.ip_allowlist, want.ip_allowlist);
  EXPECT_EQ(got.referrer_allowlist, want.referrer_allowlist);
  EXPECT_EQ(got.endpoint_allowlist, want.endpoint_allowlist);
  EXPECT_EQ(got.rate_limit, want.rate_limit);
  EXPECT_EQ(got.credits, want.credits);
  EXPECT_EQ(got.meta_json, want.meta_json);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.created_by, want.created_by);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.last_used_at, want.last_used_at);
  EXPECT_EQ(got.revoked_at, want.revoked_at);
  EXPECT_EQ(got.revoked_by, want.revoked_by);
  EXPECT_EQ(got.revoked_reason, want.revoked_reason);
  EXPECT_EQ(got.disabled, want.disabled);
  EXPECT_EQ(got.disabled_by, want.disabled_by);
  EXPECT_EQ(got.rotated_from, want.rotated_from);
  EXPECT_EQ(got.lineage_id, want.lineage_id);
}

// A key made elsewhere, from base (the fixture's Key), with every field set.
ApiKey Full(ApiKey k) {
  const std::string& id = k.id;
  k.short_prefix = "sk_live_imp";
  k.name = "imported " + id;
  k.scopes = {"read", "write:orders"};
  k.ip_allowlist = {"203.0.113.0/24", "2001:db8::/32"};
  k.referrer_allowlist = {"https://*.example.com"};
  k.endpoint_allowlist = {"GET /v1/orders/*"};
  k.rate_limit = RateLimit{30, 60};
  KeyCredits credits;
  credits.remaining = 900;
  credits.set_at = 5;
  credits.refill = KeyCredits::Refill{1000, KeyCredits::Interval::kMonthly, 15};
  k.credits = credits;
  k.meta_json = R"({"customer":"c_42","tier":"gold"})";
  k.created_at = 7;
  k.created_by = "import:legacy";
  k.expires_at = 1'000'000;
  k.last_used_at = 50;
  k.disabled = true;
  k.disabled_by = "rk_old";
  k.rotated_from = "key_legacy_parent_" + id;
  k.lineage_id = "key_legacy_first_" + id;
  return k;
}

// An audit callback that makes one "key.import" entry per imported key, on
// it, and keeps what it was shown. Thread-safe.
class Recorder {
 public:
  ImportAudit Callback() {
    return [this](const std::vector<ImportedKey>& outcomes) {
      std::lock_guard<std::mutex> lock(mu_);
      shown_.push_back(outcomes);
      std::vector<AuditEntry> out;
      for (const auto& k : outcomes) {
        if (k.outcome != ImportOutcome::kImported) continue;
        AuditEntry e;
        e.id = "evt_import_" + std::to_string(next_++);
        e.at = 1;
        e.actor = "test";
        e.action = "key.import";
        e.target = k.key_id;
        e.workspace_id = "ws_contract";
        out.push_back(e);
      }
      return out;
    };
  }
  // What the last call was shown; empty when none.
  std::vector<ImportedKey> last_shown() {
    std::lock_guard<std::mutex> lock(mu_);
    return shown_.empty() ? std::vector<ImportedKey>{} : shown_.back();
  }
  size_t calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return shown_.size();
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<ImportedKey>> shown_;
  int next_ = 0;
};

std::vector<ImportedKey> Import(KeyStore& store, Recorder& recorder,
                                const std::vector<ImportKeyRow>& rows, bool dry_run = false) {
  auto got = store.ImportKeys(rows, recorder.Callback(), dry_run);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  return got.ok() ? *got : std::vector<ImportedKey>{};
}

// The hashes the change log holds after seq.
std::vector<KeyHash> ChangedSince(KeyStore& store, int64_t seq) {
  auto changes = store.KeyChangesSince(seq, 10000);
  EXPECT_TRUE(changes.ok()) << changes.status().ToString();
  std::vector<KeyHash> out;
  if (changes.ok()) {
    for (const auto& c : *changes) out.push_back(c.hash);
  }
  return out;
}

size_t AuditCount(KeyStore& store) {
  AuditFilter all;
  auto page = store.ListAudit(all, {"", 1000});
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? page->items.size() : 0;
}

TEST_P(StoreContractTest, ImportStoresKeysAsGivenWithTheirChangeLogAndAudit) {
  Recorder audit;
  ApiKey full = Full(Key("key_imp_full"));
  ApiKey revoked = Full(Key("key_imp_revoked"));
  revoked.revoked_at = 60;
  revoked.revoked_by = "rk_legacy";
  revoked.revoked_reason = "leaked in a ticket";
  ApiKey plain = Key("key_imp_plain");  // no optional field set
  const int64_t seq = *store_->LatestKeyChange();
  const auto got = Import(*store_, audit, {Row(full), Row(revoked), Row(plain)});
  EXPECT_EQ(Outcomes(got),
            (std::vector<std::string>{"imported:key_imp_full", "imported:key_imp_revoked",
                                      "imported:key_imp_plain"}));
  for (const ApiKey& want : {full, revoked, plain}) {
    SCOPED_TRACE(want.id);
    auto by_hash = store_->FindKeyByHash(want.hash);
    ASSERT_TRUE(by_hash.ok()) << by_hash.status().ToString();
    ExpectSameKey(*by_hash, want);
    auto by_id = store_->GetKey(want.id);
    ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
    ExpectSameKey(*by_id, want);
  }
  EXPECT_EQ(store_->GetKey("key_imp_revoked")->StatusAt(100), KeyStatus::kRevoked);
  EXPECT_EQ(store_->GetKey("key_imp_full")->StatusAt(100), KeyStatus::kDisabled);
  // The revoked one occupies no slot.
  EXPECT_EQ(*store_->CountActiveKeys("ws_contract", 100), 2);
  EXPECT_EQ(ChangedSince(*store_, seq),
            (std::vector<KeyHash>{full.hash, revoked.hash, plain.hash}));
  std::set<std::string> audited;
  for (const auto& e : AuditOf(*store_, "key.import")) audited.insert(e.target);
  EXPECT_EQ(audited, (std::set<std::string>{"key_imp_full", "key_imp_revoked", "key_imp_plain"}));
  EXPECT_EQ(Outcomes(audit.last_shown()), Outcomes(got));
}

TEST_P(StoreContractTest, ImportOfAStoredHashWritesNothingAndNamesTheKeyStored) {
  Recorder audit;
  ASSERT_TRUE(store_->InsertKey(Key("key_made_here"), 100, 100, Audit()).ok());
  ASSERT_EQ(Import(*store_, audit, {Row(Full(Key("key_first")))}).size(), 1u);
  const ApiKey before = *store_->GetKey("key_first");
  const int64_t seq = *store_->LatestKeyChange();
  const size_t audited = AuditCount(*store_);
  ApiKey again = Full(Key("key_first"));
  again.name = "renamed in the source";
  again.scopes = {"admin"};
  again.revoked_at = 99;
  ApiKey other_id = Full(Key("key_first"));
  other_id.id = "key_made_for_this_row";
  ApiKey here = Key("key_made_here");
  here.name = "the same key, exported and imported back";
  const auto got =
      Import(*store_, audit, {Row(again), Row(other_id, /*id_given=*/false), Row(here)});
  EXPECT_EQ(Outcomes(got), (std::vector<std::string>{"unchanged:key_first", "unchanged:key_first",
                                                     "unchanged:key_made_here"}));
  const ApiKey after = *store_->GetKey("key_first");
  ExpectSameKey(after, before);
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(store_->GetKey("key_made_here")->name, "n");
  EXPECT_TRUE(store_->GetKey("key_made_for_this_row").status().IsNotFound());
  EXPECT_EQ(*store_->LatestKeyChange(), seq);
  EXPECT_EQ(AuditCount(*store_), audited);
  // An id given in the row must be the stored key's own.
  EXPECT_EQ(Outcomes(Import(*store_, audit, {Row(other_id, /*id_given=*/true)})),
            (std::vector<std::string>{"hash_conflict:key_first"}));
  EXPECT_EQ(*store_->LatestKeyChange(), seq);
  EXPECT_EQ(AuditCount(*store_), audited);
}

TEST_P(StoreContractTest, ImportOfAHashStoredInAnotherWorkspaceOrEnvironmentIsAConflict) {
  Recorder audit;
  Workspace ws;
  ws.id = "ws_other";
  ws.name = "other";
  ws.created_at = 1;
  ASSERT_TRUE(store_->CreateWorkspace(ws, Audit()).ok());
  ASSERT_EQ(Outcomes(Import(*store_, audit, {Row(Key("key_there"))})),
            (std::vector<std::string>{"imported:key_there"}));
  const int64_t seq = *store_->LatestKeyChange();
  ApiKey other_workspace = Key("key_there");
  other_workspace.workspace_id = "ws_other";
  ApiKey other_environment = Key("key_there");
  other_environment.environment = "test";
  ApiKey other_id = Key("key_there");
  other_id.id = "key_elsewhere";
  other_id.workspace_id = "ws_other";
  const auto got =
      Import(*store_, audit,
             {Row(other_workspace), Row(other_environment), Row(other_id, /*id_given=*/false)});
  EXPECT_EQ(Outcomes(got),
            (std::vector<std::string>{"hash_conflict:key_there", "hash_conflict:key_there",
                                      "hash_conflict:key_there"}));
  const ApiKey stored = *store_->FindKeyByHash(Sha256("key_there"));
  EXPECT_EQ(stored.workspace_id, "ws_contract");
  EXPECT_EQ(stored.environment, "live");
  EXPECT_TRUE(store_->GetKey("key_elsewhere").status().IsNotFound());
  EXPECT_EQ(*store_->LatestKeyChange(), seq);
}

TEST_P(StoreContractTest, ImportRefusesATakenIdAndNamesAMissingWorkspacePerRow) {
  Recorder audit;
  ASSERT_TRUE(store_->InsertKey(Key("key_taken"), 100, 100, Audit()).ok());
  ApiKey same_id = Key("key_taken");
  same_id.hash = Sha256("another secret");
  ApiKey made_id = Key("key_taken");
  made_id.hash = Sha256("a third secret");
  ApiKey lost = Key("key_lost");
  lost.workspace_id = "ws_missing";
  const auto got = Import(*store_, audit,
                          {Row(same_id), Row(Key("key_fine")), Row(made_id, /*id_given=*/false),
                           Row(lost), Row(Key("key_fine_too"))});
  EXPECT_EQ(Outcomes(got),
            (std::vector<std::string>{"id_conflict:key_taken", "imported:key_fine",
                                      "id_conflict:key_taken", "no_workspace:key_lost",
                                      "imported:key_fine_too"}));
  EXPECT_EQ(store_->GetKey("key_taken")->hash, Sha256("key_taken"));
  EXPECT_TRUE(store_->FindKeyByHash(Sha256("another secret")).status().IsNotFound());
  EXPECT_TRUE(store_->FindKeyByHash(Sha256("a third secret")).status().IsNotFound());
  EXPECT_TRUE(store_->GetKey("key_lost").status().IsNotFound());
  EXPECT_TRUE(store_->GetKey("key_fine").ok());
  EXPECT_TRUE(store_->GetKey("key_fine_too").ok());
}

TEST_P(StoreContractTest, ImportRowsSeeTheRowsBeforeThemInTheSameBatch) {
  Recorder audit;
  const int64_t seq = *store_->LatestKeyChange();
  ApiKey first = Full(Key("key_dup"));
  ApiKey repeat = first;
  repeat.name = "a second copy in the file";
  ApiKey other_env = first;
  other_env.environment = "test";
  ApiKey other_id = first;
  other_id.id = "key_dup_made";
  ApiKey same_id_other_hash = Key("key_dup");
  same_id_other_hash.hash = Sha256("not key_dup");
  const auto got =
      Import(*store_, audit,
             {Row(first), Row(repeat), Row(other_env), Row(other_id, /*id_given=*/false),
              Row(other_id, /*id_given=*/true), Row(same_id_other_hash)});
  EXPECT_EQ(Outcomes(got),
            (std::vector<std::string>{"imported:key_dup", "unchanged:key_dup",
                                      "hash_conflict:key_dup", "unchanged:key_dup",
                                      "hash_conflict:key_dup", "id_conflict:key_dup"}));
  EXPECT_EQ(store_->GetKey("key_dup")->name, first.name);
  EXPECT_TRUE(store_->GetKey("key_dup_made").status().IsNotFound());
  EXPECT_TRUE(store_->FindKeyByHash(Sha256("not key_dup")).status().IsNotFound());
  EXPECT_EQ(ChangedSince(*store_, seq), std::vector<KeyHash>{first.hash});
  EXPECT_EQ(AuditOf(*store_, "key.import").size(), 1u);
}

TEST_P(StoreContractTest, ImportKeepsEveryKeyWhateverTheKeyLimit) {
  Recorder audit;
  ASSERT_TRUE(store_->InsertKey(Key("key_l1"), 2, 100, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_l2"), 2, 100, Audit()).ok());
  ASSERT_EQ(store_->InsertKey(Key("key_l3"), 2, 100, Audit()).code(), Code::kKeyLimitReached);
  std::vector<ImportKeyRow> rows;
  for (int i = 0; i < 3; ++i) rows.push_back(Row(Key("key_li" + std::to_string(i))));
  EXPECT_EQ(Outcomes(Import(*store_, audit, rows)),
            (std::vector<std::string>{"imported:key_li0", "imported:key_li1", "imported:key_li2"}));
  EXPECT_EQ(*store_->CountActiveKeys("ws_contract", 100), 5);
  // The limit still holds for keys made here.
  EXPECT_EQ(store_->InsertKey(Key("key_l3"), 2, 100, Audit()).code(), Code::kKeyLimitReached);
}

TEST_P(StoreContractTest, ImportWritesTheAuditEntriesMadeFromWhatItDid) {
  ASSERT_TRUE(store_->InsertKey(Key("key_a_old"), 100, 100, Audit()).ok());
  ApiKey lost = Key("key_a_lost");
  lost.workspace_id = "ws_missing";
  std::vector<std::vector<ImportedKey>> shown;
  const ImportAudit summary = [&](const std::vector<ImportedKey>& outcomes) {
    shown.push_back(outcomes);
    AuditEntry e = Audit("key.import_batch");
    e.target = "import_1";
    e.details_json = "{\"rows\":" + std::to_string(outcomes.size()) + "}";
    std::vector<AuditEntry> out{e};
    for (const auto& k : outcomes) {
      AuditEntry row = Audit(std::string("key.import.") + OutcomeName(k.outcome));
      row.target = k.key_id;
      out.push_back(row);
    }
    return out;
  };
  auto got = store_->ImportKeys({Row(Key("key_a_new")), Row(Key("key_a_old")), Row(lost)}, summary,
                                /*dry_run=*/false);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_FALSE(shown.empty());
  EXPECT_EQ(Outcomes(shown.back()), Outcomes(*got));
  auto batch = AuditOf(*store_, "key.import_batch");
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].details_json, "{\"rows\":3}");
  for (const auto& [action, target] : {std::pair{"key.import.imported", "key_a_new"},
                                       {"key.import.unchanged", "key_a_old"},
                                       {"key.import.no_workspace", "key_a_lost"}}) {
    auto entries = AuditOf(*store_, action);
    ASSERT_EQ(entries.size(), 1u) << action;
    EXPECT_EQ(entries[0].target, target);
  }
}

TEST_P(StoreContractTest, ImportDryRunWritesNothingAndAnswersAsTheImportWould) {
  Recorder audit;
  ASSERT_TRUE(store_->InsertKey(Key("key_d_old"), 100, 100, Audit()).ok());
  ApiKey lost = Key("key_d_lost");
  lost.workspace_id = "ws_missing";
  const std::vector<ImportKeyRow> rows = {Row(Key("key_d_old")), Row(Full(Key("key_d_new"))),
                                          Row(lost), Row(Full(Key("key_d_new")))};
  const int64_t seq = *store_->LatestKeyChange();
  const size_t audited = AuditCount(*store_);
  const auto dry = Import(*store_, audit, rows, /*dry_run=*/true);
  EXPECT_EQ(Outcomes(dry),
            (std::vector<std::string>{"unchanged:key_d_old", "imported:key_d_new",
                                      "no_workspace:key_d_lost", "unchanged:key_d_new"}));
  EXPECT_EQ(Outcomes(audit.last_shown()), Outcomes(dry)) << "a dry run makes its audit entries too";
  EXPECT_TRUE(store_->GetKey("key_d_new").status().IsNotFound());
  EXPECT_TRUE(store_->FindKeyByHash(Sha256("key_d_new")).status().IsNotFound());
  EXPECT_EQ(*store_->LatestKeyChange(), seq);
  EXPECT_EQ(AuditCount(*store_), audited);
  EXPECT_EQ(*store_->CountActiveKeys("ws_contract", 100), 1);
  // Then the import itself does what the dry run said.
  EXPECT_EQ(Outcomes(Import(*store_, audit, rows)), Outcomes(dry));
  EXPECT_TRUE(store_->GetKey("key_d_new").ok());
  EXPECT_EQ(ChangedSince(*store_, seq), std::vector<KeyHash>{Sha256("key_d_new")});
  EXPECT_EQ(AuditOf(*store_, "key.import").size(), 1u);
}

// Two rows claiming to replace the same key: the second breaks the rule
// that a key has at most one replacement, and nothing of the batch stays,
// not even the rows before it.
TEST_P(StoreContractTest, ImportOfARowTheStoreRefusesFailsTheWholeBatch) {
  Recorder audit;
  ApiKey heir1 = Key("key_f_heir1");
  heir1.rotated_from = "key_f_parent";
  ApiKey heir2 = Key("key_f_heir2");
  heir2.rotated_from = "key_f_parent";
  const std::vector<ImportKeyRow> rows = {Row(Key("key_f_before")), Row(heir1), Row(heir2)};
  const int64_t seq = *store_->LatestKeyChange();
  const size_t audited = AuditCount(*store_);
  for (const bool dry_run : {true, false}) {
    SCOPED_TRACE(dry_run ? "dry run" : "import");
    auto got = store_->ImportKeys(rows, audit.Callback(), dry_run);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), Code::kConflict) << got.status().ToString();
    for (const char* id : {"key_f_before", "key_f_heir1", "key_f_heir2"}) {
      EXPECT_TRUE(store_->GetKey(id).status().IsNotFound()) << id;
    }
    EXPECT_EQ(*store_->LatestKeyChange(), seq);
    EXPECT_EQ(AuditCount(*store_), audited);
  }
  // The store works on: the rows it accepts import.
  EXPECT_EQ(Outcomes(Import(*store_, audit, {rows[0], rows[1]})),
            (std::vector<std::string>{"imported:key_f_before", "imported:key_f_heir1"}));
}

// More rows than one statement of some engines takes (PostgreSQL: 65535
// parameters), each of the batch's rows seeing the ones before it.
TEST_P(StoreContractTest, ImportOfALargeBatchStoresEveryRow) {
  Recorder audit;
  constexpr int kRows = 2500;
  const int64_t seq = *store_->LatestKeyChange();
  std::vector<ImportKeyRow> rows;
  for (int i = 0; i < kRows; ++i) rows.push_back(Row(Full(Key("key_big" + std::to_string(i)))));
  rows.push_back(rows[3]);
  const auto got = Import(*store_, audit, rows);
  ASSERT_EQ(got.size(), rows.size());
  for (int i = 0; i < kRows; ++i) EXPECT_EQ(got[i].outcome, ImportOutcome::kImported) << i;
  EXPECT_EQ(Outcomes({got.back()}), std::vector<std::string>{"unchanged:key_big3"});
  EXPECT_EQ(*store_->CountActiveKeys("ws_contract", 100), kRows);
  EXPECT_EQ(ChangedSince(*store_, seq).size(), static_cast<size_t>(kRows));
  ExpectSameKey(*store_->FindKeyByHash(Sha256("key_big2499")), Full(Key("key_big2499")));
}

// Nodes importing the same file at once (each row's id made by the node, as
// for rows without one): each hash is stored once, with one node's id, and
// every other import is told that key is already there.
TEST_P(StoreContractTest, ConcurrentImportsOfTheSameHashesStoreEachOnce) {
  Recorder audit;
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  KeyStore* nodes[] = {store_.get(), other.get()};
  constexpr int kThreads = 6, kRows = 25;
  const int64_t seq = *store_->LatestKeyChange();
  std::vector<Result<std::vector<ImportedKey>>> results(kThreads, Status::Internal("not run"));
  OnThreads(kThreads, [&](int t) {
    std::vector<ImportKeyRow> rows;
    for (int i = 0; i < kRows; ++i) {
      ApiKey k = Key("key_race" + std::to_string(i));
      k.id = "key_race" + std::to_string(i) + "_by" + std::to_string(t);
      rows.push_back(Row(k, /*id_given=*/false));
    }
    results[t] = nodes[t % 2]->ImportKeys(rows, audit.Callback(), /*dry_run=*/false);
  });
  std::vector<int> imported(kRows, 0);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(results[t].ok()) << results[t].status().ToString();
    ASSERT_EQ(results[t]->size(), static_cast<size_t>(kRows));
    for (int i = 0; i < kRows; ++i) {
      const ImportedKey& got = (*results[t])[i];
      auto stored = store_->FindKeyByHash(Sha256("key_race" + std::to_string(i)));
      ASSERT_TRUE(stored.ok()) << stored.status().ToString();
      EXPECT_EQ(got.key_id, stored->id) << "thread " << t << " row " << i;
      if (got.outcome == ImportOutcome::kImported) {
        ++imported[i];
      } else {
        EXPECT_EQ(got.outcome, ImportOutcome::kUnchanged) << OutcomeName(got.outcome);
      }
    }
  }
  for (int i = 0; i < kRows; ++i) EXPECT_EQ(imported[i], 1) << "row " << i;
  KeyFilter filter;
  filter.workspace_id = "ws_contract";
  EXPECT_EQ(store_->ListKeys(filter, {"", 1000})->items.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(ChangedSince(*store_, seq).size(), static_cast<size_t>(kRows));
  EXPECT_EQ(AuditOf(*store_, "key.import").size(), static_cast<size_t>(kRows));
}

// Found in review: on PostgreSQL an import took the change log's lock
// before its workspace's, and a key created at once in that workspace
// (which holds the workspace, then waits for the change log) deadlocked
// with it. Both now take them in one order, and all of them land.
TEST_P(StoreContractTest, ImportsAndKeysCreatedInTheSameWorkspaceAllLand) {
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  constexpr int kRounds = 20;
  std::vector<Status> created(kRounds, Status::Internal("not run"));
  std::vector<Status> imported(kRounds, Status::Internal("not run"));
  OnThreads(2, [&](int t) {
    for (int i = 0; i < kRounds; ++i) {
      if (t == 0) {
        created[i] = store_->InsertKey(Key("key_made" + std::to_string(i)), 100000, 100, Audit());
      } else {
        std::vector<ImportKeyRow> rows;
        for (int j = 0; j < 10; ++j) {
          rows.push_back(Row(Key("key_imp" + std::to_string(i) + "_" + std::to_string(j))));
        }
        auto r = other->ImportKeys(rows, nullptr, /*dry_run=*/false);
        imported[i] = r.ok() ? Status::Ok() : r.status();
      }
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    EXPECT_TRUE(created[i].ok()) << created[i].ToString();
    EXPECT_TRUE(imported[i].ok()) << imported[i].ToString();
  }
  KeyFilter filter;
  filter.workspace_id = "ws_contract";
  EXPECT_EQ(store_->ListKeys(filter, {"", 1000})->items.size(), static_cast<size_t>(kRounds * 11));
}

}  // namespace
}  // namespace contract
}  // namespace keyward
