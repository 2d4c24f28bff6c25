// Importing keys through the HTTP API, in process: legacy formats and their
// environments, idempotent re-import, conflicting hashes, rejected rows by
// index, a workspace imported over its limit, plaintext that is never kept,
// a dry run, and export then import into another deployment.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/sha256.h"
#include "core/time_format.h"
#include "server/api.h"
#include "server/json_codec.h"
#include "testing/api_stack.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

// amser's shape, as the seed shows it, and as the README configures it.
void AmserFormat(Config* c) {
  c->legacy_formats.push_back({"^amsr_(live|test)_[A-Za-z0-9]{21}$", "$1", 12});
}

std::string Base64(const KeyHash& h) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : h) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

class ImportApiTest : public ::testing::Test {
 protected:
  ImportApiTest() {
    clock_.Set(*ParseRfc3339("2026-03-01T12:00:00Z"));
    root_ = (*stack_.service->EnsureRootKey(Actor{"test", ""}))->secret;
  }

  static ApiReply Send(keyward::testing::ApiStack& stack, const std::string& root,
                       http::verb method, const std::string& target, const std::string& body) {
    HttpRequest req{method, target, 11};
    req.set(http::field::authorization, "Bearer " + root);
    req.body() = body;
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.prepare_payload();
    return stack.api->Handle(req, "127.0.0.1");
  }
  Json Ok(http::verb method, const std::string& target, const std::string& body = "",
          int status = 200) {
    const ApiReply r = Send(stack_, root_, method, target, body);
    EXPECT_EQ(r.response.status, status) << target << ": " << r.response.body;
    return Json::parse(r.response.body, nullptr, false);
  }
  std::string Workspace(const std::string& extra = "") {
    return Ok(http::verb::post, "/v1/workspaces", R"({"name":"Acme")" + extra + "}", 201)["id"]
        .get<std::string>();
  }
  // rows: a vector, since a braced list of one Json is that Json, not an array.
  Json Import(const std::vector<Json>& rows, bool dry_run = false) {
    Json body = Json::object();
    body["keys"] = Json(rows);
    body["dry_run"] = dry_run;
    return Ok(http::verb::post, "/v1/api-keys/import", Dump(body));
  }
  static Json ByHash(const std::string& ws, const std::string& env, const std::string& key,
                     const std::string& encoding = "hex") {
    const KeyHash h = Sha256(key);
    return {{"workspace_id", ws},
            {"environment", env},
            {"hash",
             {{"algorithm", "sha256"},
              {"encoding", encoding},
              {"value", encoding == "hex" ? ToHex(h) : Base64(h)}}}};
  }
  // What /v1/auth answers for key: "valid" or the error code.
  static std::string Auth(keyward::testing::ApiStack& stack, const std::string& key) {
    HttpRequest req{http::verb::get, "/v1/auth", 11};
    req.set("X-API-Key", key);
    req.set("X-Original-Method", "GET");
    req.set("X-Original-URI", "/v1/markets");
    const ApiReply r = stack.api->Handle(req, "127.0.0.1");
    if (r.response.status == 200) return "valid";
    return Json::parse(r.response.body)["error"].get<std::string>();
  }
  std::string Auth(const std::string& key) { return Auth(stack_, key); }

  keyward::testing::TempDir dir_;
  ManualClock clock_;
  keyward::testing::ApiStack stack_{dir_.path().string(), &clock_, {"live", "test"}, AmserFormat};
  std::string root_;
};

const std::string kLive = "amsr_live_k3m7x9p2q4r8s1t5v0w6y";
const std::string kTest = "amsr_test_a1b2c3d4e5f6g7h8i9j0k";

TEST_F(ImportApiTest, LegacyKeysImportedByHashVerifyWithTheirEnvironment) {
  const std::string ws = Workspace();
  // Asked before the import: unknown, and remembered as unknown.
  EXPECT_EQ(Auth(kLive), "invalid");
  Json r = Import({ByHash(ws, "live", kLive), ByHash(ws, "test", kTest, "base64")});
  EXPECT_EQ(r["imported"], 2);
  EXPECT_EQ(r["rejected"], 0);
  EXPECT_EQ(r["results"][0]["status"], "imported");
  const std::string id = r["results"][0]["id"];
  // The import is felt at once, negative cache and all.
  EXPECT_EQ(Auth(kLive), "valid");
  EXPECT_EQ(Auth(kTest), "valid");
  // Shape alone never passes: one character off is unknown.
  EXPECT_EQ(Auth("amsr_live_k3m7x9p2q4r8s1t5v0w6Y"), "invalid");
  EXPECT_EQ(Auth("amsr_live_k3m7x9p2q4r8s1t5v0w6"), "malformed");
  const Json key = Ok(http::verb::get, "/v1/api-keys/" + id);
  EXPECT_EQ(key["workspace_id"], ws);
  EXPECT_EQ(key["environment"], "live");
  EXPECT_EQ(key["status"], "active");
  // Verify answers what the key is, as for a native key.
  const Json v = Ok(http::verb::post, "/v1/keys/verify", Dump(Json{{"key", kLive}}));
  EXPECT_EQ(v["valid"], true);
  EXPECT_EQ(v["key_id"], id);
}

TEST_F(ImportApiTest, ALegacyTestKeyNeverAuthenticatesOnALiveOnlyDeployment) {
  keyward::testing::TempDir dir;
  keyward::testing::ApiStack live_only{dir.path().string(), &clock_, {"live"}, AmserFormat};
  const std::string root = (*live_only.service->EnsureRootKey(Actor{"test", ""}))->secret;
  const ApiReply ws = Send(live_only, root, http::verb::post, "/v1/workspaces", R"({"name":"A"})");
  const std::string ws_id = Json::parse(ws.response.body)["id"];
  const ApiReply r = Send(live_only, root, http::verb::post, "/v1/api-keys/import",
                          Dump(Json{{"keys", Json::array({ByHash(ws_id, "test", kTest)})}}));
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  EXPECT_EQ(Json::parse(r.response.body)["imported"], 1);
  EXPECT_EQ(Auth(live_only, kTest), "wrong_environment");
}

TEST_F(ImportApiTest, ReimportingGivesTheSameIdsAndChangesNothing) {
  const std::string ws = Workspace();
  std::vector<Json> rows;
  for (int i = 0; i < 20; ++i) {
    std::string key = "amsr_live_" + std::string(19, 'a') + std::to_string(10 + i);
    rows.push_back(ByHash(ws, "live", key));
    rows.back()["name"] = "key " + std::to_string(i);
  }
  const Json first = Import(rows);
  EXPECT_EQ(first["imported"], 20);
  const Json audit_before = Ok(http::verb::get, "/v1/audit-log?limit=100");
  const Json again = Import(rows);
  EXPECT_EQ(again["imported"], 0);
  EXPECT_EQ(again["unchanged"], 20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(again["results"][i]["status"], "unchanged");
    EXPECT_EQ(again["results"][i]["id"], first["results"][i]["id"]);
  }
  const Json list = Ok(http::verb::get, "/v1/api-keys?workspace_id=" + ws + "&limit=100");
  EXPECT_EQ(list["data"].size(), 20u);
  // Each batch is on the record: who, how many rows, which workspace.
  const Json audit = Ok(http::verb::get, "/v1/audit-log?limit=100");
  ASSERT_EQ(audit["data"].size(), audit_before["data"].size() + 1);
  const Json& entry = audit["data"][0];
  EXPECT_EQ(entry["action"], "key.import");
  EXPECT_EQ(entry["workspace_id"], ws);
  EXPECT_EQ(entry["details"]["rows"], 20);
  EXPECT_EQ(entry["details"]["unchanged"], 20);
  EXPECT_EQ(entry["details"]["imported"], 0);
  EXPECT_NE(entry["actor"].get<std::string>().find("rk_"), std::string::npos);
}

TEST_F(ImportApiTest, AReimportThatSaysRevokedRevokesAndNothingRevives) {
  const std::string ws = Workspace();
  const std::string id = Import({ByHash(ws, "live", kLive)})["results"][0]["id"];
  EXPECT_EQ(Auth(kLive), "valid");
  // The old system revoked it after the first import; the final import says so.
  Json row = ByHash(ws, "live", kLive);
  row["revoked_at"] = "2026-03-01T11:00:00Z";
  const Json dry = Import({row}, true);
  EXPECT_EQ(dry["results"][0]["status"], "unchanged");
  EXPECT_EQ(dry["results"][0]["revoked"], true);
  EXPECT_EQ(Auth(kLive), "valid");  // a dry run revokes nothing
  const Json r = Import({row});
  EXPECT_EQ(r["results"][0]["status"], "unchanged");
  EXPECT_EQ(r["results"][0]["id"], id);
  EXPECT_EQ(r["results"][0]["revoked"], true);
  EXPECT_EQ(Auth(kLive), "revoked");
  // Importing it again without revoked_at does not bring it back.
  const Json again = Import({ByHash(ws, "live", kLive)});
  EXPECT_EQ(again["results"][0]["status"], "unchanged");
  EXPECT_FALSE(again["results"][0].contains("revoked"));
  EXPECT_EQ(Auth(kLive), "revoked");
}

TEST_F(ImportApiTest, AManagingKeyCanNeitherImportNorExport) {
  const std::string ws = Workspace();
  const std::string manager =
      Ok(http::verb::post, "/v1/api-keys",
         R"({"workspace_id":")" + ws +
             R"(","environment":"live","name":"m","scopes":["keys:manage","*"]})",
         201)["key"];
  // Into its own workspace and environment, even: importing is the operator's.
  const ApiReply imported = Send(stack_, manager, http::verb::post, "/v1/api-keys/import",
                                 Dump(Json{{"keys", Json::array({ByHash(ws, "live", kLive)})}}));
  EXPECT_EQ(imported.response.status, 403) << imported.response.body;
  EXPECT_EQ(Auth(kLive), "invalid");
  const ApiReply exported =
      Send(stack_, manager, http::verb::get, "/v1/api-keys/export?workspace_id=" + ws, "");
  EXPECT_EQ(exported.response.status, 403) << exported.response.body;
  EXPECT_EQ(exported.response.body.find("\"hash\""), std::string::npos);
}

TEST_F(ImportApiTest, AHashThatIsAnotherKeysIsReportedNeverMerged) {
  const std::string ws1 = Workspace();
  const std::string ws2 = Workspace();
  const Json first = Import({ByHash(ws1, "live", kLive)});
  const std::string id = first["results"][0]["id"];
  const Json r = Import({ByHash(ws2, "live", kLive), ByHash(ws1, "test", kLive)});
  EXPECT_EQ(r["rejected"], 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(r["results"][i]["status"], "rejected");
    EXPECT_EQ(r["results"][i]["error"], "hash_conflict");
    EXPECT_EQ(r["results"][i]["id"], id);
  }
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + id)["workspace_id"], ws1);
}

TEST_F(ImportApiTest, RejectedRowsAreNamedByIndexAndTheOthersImported) {
  const std::string ws = Workspace();
  Json bad_hash = ByHash(ws, "live", kLive);
  bad_hash["hash"]["value"] = "abc";
  Json both = ByHash(ws, "live", kLive);
  both["key"] = kLive;
  Json md5 = ByHash(ws, "live", kLive);
  md5["hash"]["algorithm"] = "md5";
  const std::vector<Json> rows = {
      bad_hash,                                                                   // 0
      ByHash(ws, "prod", kLive),                                                  // 1
      both,                                                                       // 2
      {{"workspace_id", ws}, {"environment", "live"}, {"key", "not-a-key"}},      // 3
      {{"workspace_id", ws}, {"environment", "test"}, {"key", kLive}},            // 4
      42,                                                                         // 5
      ByHash("ws_nope", "live", kLive),                                           // 6
      md5,                                                                        // 7
      {{"workspace_id", ws}, {"environment", "live"}, {"key", kLive}, {"x", 1}},  // 8
      {{"workspace_id", ws}, {"environment", "live"}, {"key", kLive}},            // 9: fine
  };
  const Json r = Import(rows);
  const std::vector<std::string> expected = {
      "invalid_hash",        "unknown_environment",  "invalid_row",
      "unknown_key_format",  "environment_mismatch", "invalid_row",
      "workspace_not_found", "invalid_hash",         "invalid_row"};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r["results"][i]["index"], i);
    EXPECT_EQ(r["results"][i]["status"], "rejected") << i;
    EXPECT_EQ(r["results"][i]["error"], expected[i]) << i << ": " << r["results"][i];
  }
  EXPECT_EQ(r["results"][9]["status"], "imported");
  EXPECT_EQ(r["imported"], 1);
  EXPECT_EQ(r["rejected"], 9);
  // No answer ever echoes a key, not even a rejected one.
  EXPECT_EQ(Dump(r).find("k3m7x9p2q4r8s1t5v0w6y"), std::string::npos) << Dump(r);
  // A batch too large is refused whole.
  Json many = Json::array();
  for (int i = 0; i < 1001; ++i) many.push_back(ByHash(ws, "live", kLive));
  const ApiReply big =
      Send(stack_, root_, http::verb::post, "/v1/api-keys/import", Dump(Json{{"keys", many}}));
  EXPECT_EQ(big.response.status, 400);
  EXPECT_NE(big.response.body.find("at most 1000"), std::string::npos);
}

TEST_F(ImportApiTest, AWorkspaceImportedOverItsLimitKeepsEveryKeyAndTakesNoNewOne) {
  const std::string ws = Workspace(R"(,"max_active_keys":2)");
  const Json r = Import({ByHash(ws, "live", kLive), ByHash(ws, "test", kTest),
                         ByHash(ws, "live", "amsr_live_zzzzzzzzzzzzzzzzzzzzz")});
  EXPECT_EQ(r["imported"], 3);
  ASSERT_EQ(r["over_limit"].size(), 1u);
  EXPECT_EQ(r["over_limit"][0]["workspace_id"], ws);
  EXPECT_EQ(r["over_limit"][0]["active_keys"], 3);
  EXPECT_EQ(r["over_limit"][0]["max_active_keys"], 2);
  EXPECT_EQ(Auth(kLive), "valid");
  const std::string create =
      R"({"workspace_id":")" + ws + R"(","environment":"live","name":"new"})";
  const Json refused = Ok(http::verb::post, "/v1/api-keys", create, 409);
  EXPECT_EQ(refused["error"], "key_limit_reached");
  // Back under the limit: revoke two, and a new key fits.
  Ok(http::verb::delete_, "/v1/api-keys/" + r["results"][0]["id"].get<std::string>());
  Ok(http::verb::post, "/v1/api-keys", create, 409);
  Ok(http::verb::delete_, "/v1/api-keys/" + r["results"][1]["id"].get<std::string>());
  Ok(http::verb::post, "/v1/api-keys", create, 201);
}

TEST_F(ImportApiTest, APlaintextImportKeepsNoPlaintextAnywhere) {
  const std::string ws = Workspace();
  const std::string secret = "amsr_live_PLAINtextPLAINtext123";
  const Json r = Import({{{"workspace_id", ws},
                          {"environment", "live"},
                          {"key", secret},
                          {"name", "billing server"},
                          {"scopes", {"markets:read"}},
                          {"created_at", "2025-06-01T00:00:00Z"},
                          {"last_used_at", "2026-02-27T08:00:00Z"}}});
  ASSERT_EQ(r["imported"], 1) << r;
  EXPECT_EQ(r["results"][0]["short_prefix"], "amsr_live_PLAINtextPLA");
  EXPECT_EQ(Auth(secret), "valid");
  const Json key = Ok(http::verb::get, "/v1/api-keys/" + r["results"][0]["id"].get<std::string>());
  EXPECT_EQ(key["created_at"], "2025-06-01T00:00:00Z");
  EXPECT_EQ(key["last_used_at"], "2026-02-27T08:00:00Z");
  EXPECT_EQ(key["scopes"], Json::array({"markets:read"}));
  const std::string tail = "INtext123";
  EXPECT_EQ(Dump(r).find(tail), std::string::npos);
  EXPECT_EQ(Dump(key).find(tail), std::string::npos);
  EXPECT_EQ(Dump(Ok(http::verb::get, "/v1/audit-log?limit=100")).find(tail), std::string::npos);
  // Nor on disk: every file of the database, the write-ahead log included.
  ASSERT_TRUE(stack_.app->FlushUsage().ok());
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(bytes.str().find(tail), std::string::npos) << f.path();
  }
  // A key pasted into a name is refused, as on create.
  const Json named = Import({{{"workspace_id", ws},
                              {"environment", "test"},
                              {"key", kTest.substr(0, 10) + "x" + kTest.substr(11)},
                              {"name", "copy of " + secret}}});
  EXPECT_EQ(named["results"][0]["error"], "invalid_row");
}

TEST_F(ImportApiTest, ADryRunChecksEverythingAndWritesNothing) {
  const std::string ws = Workspace(R"(,"max_active_keys":1)");
  Import({ByHash(ws, "live", kLive)});
  const Json audit_before = Ok(http::verb::get, "/v1/audit-log?limit=100");
  const Json r = Import({ByHash(ws, "live", kLive), ByHash(ws, "test", kTest),
                         ByHash("ws_nope", "live", "amsr_live_zzzzzzzzzzzzzzzzzzzzz")},
                        true);
  EXPECT_EQ(r["dry_run"], true);
  EXPECT_EQ(r["results"][0]["status"], "unchanged");
  EXPECT_EQ(r["results"][1]["status"], "imported");
  EXPECT_EQ(r["results"][2]["error"], "workspace_not_found");
  ASSERT_EQ(r["over_limit"].size(), 1u);
  EXPECT_EQ(r["over_limit"][0]["active_keys"], 2);
  EXPECT_EQ(Auth(kTest), "invalid");
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys?workspace_id=" + ws)["data"].size(), 1u);
  EXPECT_EQ(Ok(http::verb::get, "/v1/audit-log?limit=100")["data"].size(),
            audit_before["data"].size());
}

TEST_F(ImportApiTest, ExportedHashesImportIntoAnotherDeploymentAndKeepWorking) {
  const std::string ws = Workspace();
  Import({ByHash(ws, "live", kLive)});
  const std::string native =
      Ok(http::verb::post, "/v1/api-keys",
         R"({"workspace_id":")" + ws + R"(","environment":"test","name":"n","scopes":["a"]})",
         201)["key"];
  const std::string revoked =
      Ok(http::verb::post, "/v1/api-keys",
         R"({"workspace_id":")" + ws + R"(","environment":"live","name":"gone"})", 201)["id"];
  Ok(http::verb::delete_, "/v1/api-keys/" + revoked);
  const Json exported = Ok(http::verb::get, "/v1/api-keys/export?include_revoked=true&limit=100");
  ASSERT_EQ(exported["data"].size(), 3u);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/export")["data"].size(), 2u);
  EXPECT_EQ(Ok(http::verb::get, "/v1/audit-log?limit=1")["data"][0]["action"], "key.export");

  keyward::testing::TempDir dir;
  keyward::testing::ApiStack other{dir.path().string(), &clock_, {"live", "test"}, AmserFormat};
  const std::string root = (*other.service->EnsureRootKey(Actor{"test", ""}))->secret;
  const ApiReply made = Send(other, root, http::verb::post, "/v1/workspaces", R"({"name":"A"})");
  const std::string ws2 = Json::parse(made.response.body)["id"];
  std::vector<Json> rows(exported["data"].begin(), exported["data"].end());
  for (auto& row : rows) row["workspace_id"] = ws2;
  const ApiReply r =
      Send(other, root, http::verb::post, "/v1/api-keys/import", Dump(Json{{"keys", rows}}));
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  EXPECT_EQ(Json::parse(r.response.body)["imported"], 3) << r.response.body;
  EXPECT_EQ(Auth(other, kLive), "valid");
  EXPECT_EQ(Auth(other, native), "valid");
  // A key revoked before it left stays revoked.
  const ApiReply gone = Send(other, root, http::verb::get, "/v1/api-keys/" + revoked, "");
  EXPECT_EQ(Json::parse(gone.response.body)["status"], "revoked");
}

}  // namespace
}  // namespace keyward
