// Key lifetime policies through the HTTP API, in process, with the clock
// moved instead of slept: rotation_due on every key answer and the list
// filter, a workspace's own policy (root only), and the maximum lifetime of
// new keys, which neither a root key nor a managing key gets past by
// creating, rotating or updating. The deployment: [keys] rotate_after_days =
// 90, max_key_lifetime_days = 365.
#include <gtest/gtest.h>

#include "core/time_format.h"
#include "server/api.h"
#include "server/json_codec.h"
#include "testing/api_stack.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

constexpr Timestamp kDay = 86'400'000;

class RotationApiTest : public ::testing::Test {
 protected:
  RotationApiTest() {
    clock_.Set(*ParseRfc3339("2026-01-01T00:00:00Z"));
    root_ = (*stack_.service->EnsureRootKey(Actor{"test", ""}))->secret;
  }

  static void Policies(Config* c) {
    c->rotate_after_days = 90;
    c->max_key_lifetime_days = 365;
  }

  ApiReply Send(const std::string& credential, http::verb method, const std::string& target,
                const std::string& body = "") {
    HttpRequest req{method, target, 11};
    req.set(http::field::authorization, "Bearer " + credential);
    req.body() = body;
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.prepare_payload();
    return stack_.api->Handle(req, "127.0.0.1");
  }
  Json Ok(http::verb method, const std::string& target, const std::string& body = "",
          int status = 200, const std::string& credential = "") {
    const ApiReply r = Send(credential.empty() ? root_ : credential, method, target, body);
    EXPECT_EQ(r.response.status, status) << target << ": " << r.response.body;
    return Json::parse(r.response.body, nullptr, false);
  }
  std::string Workspace(const std::string& extra = "") {
    return Ok(http::verb::post, "/v1/workspaces", R"({"name":"Acme")" + extra + "}", 201)["id"];
  }
  Json Key(const std::string& ws, const std::string& extra = "") {
    return Ok(http::verb::post, "/v1/api-keys",
              R"({"workspace_id":")" + ws + R"(","environment":"live","name":"k")" + extra + "}",
              201);
  }
  std::string At(Timestamp t) { return FormatRfc3339(t); }
  std::string Verify(const std::string& secret) {
    return Ok(http::verb::post, "/v1/keys/verify", R"({"key":")" + secret + "\"}")["code"];
  }
  std::vector<std::string> DueIds(const std::string& query = "") {
    const Json page = Ok(http::verb::get, "/v1/api-keys?rotation_due=true" + query);
    std::vector<std::string> ids;
    for (const auto& k : page["data"]) {
      EXPECT_TRUE(k["rotation_due"].get<bool>());
      ids.push_back(k["id"].get<std::string>());
    }
    return ids;
  }
  // Imports keys made elsewhere (no expiry: adopted as they are), by their
  // plaintext; answers their ids.
  std::vector<std::string> Import(const std::vector<Json>& rows) {
    const Json r = Ok(http::verb::post, "/v1/api-keys/import", Dump(Json{{"keys", rows}}));
    std::vector<std::string> ids;
    for (const auto& row : r["results"]) {
      EXPECT_EQ(row["status"], "imported") << row.dump();
      ids.push_back(row.value("id", ""));
    }
    return ids;
  }
  static void ExpectLifetimeRefusal(const ApiReply& r, const std::string& latest) {
    EXPECT_EQ(r.response.status, 400) << r.response.body;
    const Json j = Json::parse(r.response.body, nullptr, false);
    EXPECT_EQ(j["error"], "invalid_request") << r.response.body;
    const std::string message = j.value("message", "");
    EXPECT_NE(message.find("max_key_lifetime_days"), std::string::npos) << message;
    EXPECT_NE(message.find("365 days"), std::string::npos) << message;
    EXPECT_NE(message.find(latest), std::string::npos) << message;
  }

  keyward::testing::TempDir dir_;
  ManualClock clock_;
  keyward::testing::ApiStack stack_{dir_.path().string(), &clock_, {"live", "test"}, Policies};
  std::string root_;
};

TEST_F(RotationApiTest, AnOldKeyIsMarkedDueEverywhereAndStillVerifies) {
  const std::string ws = Workspace();
  const Json created = Key(ws);
  EXPECT_EQ(created["rotation_due"], false);
  const std::string id = created["id"], secret = created["key"];
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + id)["rotation_due"], false);
  EXPECT_TRUE(DueIds().empty());

  clock_.Advance(90 * kDay);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + id)["rotation_due"], true);
  const Json list = Ok(http::verb::get, "/v1/api-keys?workspace_id=" + ws);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["rotation_due"], true);
  EXPECT_EQ(DueIds(), std::vector<std::string>{id});
  EXPECT_EQ(DueIds("&workspace_id=" + ws + "&status=active"), std::vector<std::string>{id});
  EXPECT_TRUE(DueIds("&status=revoked").empty());
  EXPECT_EQ(Ok(http::verb::patch, "/v1/api-keys/" + id, R"({"name":"renamed"})")["rotation_due"],
            true);
  EXPECT_EQ(Verify(secret), "valid") << "advice, not expiry";

  // The replacement counts from its own creation; the old key, once expired, is not due.
  const Json rotated = Ok(http::verb::post, "/v1/api-keys/" + id + "/rotate", "", 201);
  EXPECT_EQ(rotated["rotation_due"], false);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + id)["rotation_due"], false);
  EXPECT_TRUE(DueIds().empty());
  EXPECT_EQ(Verify(rotated["key"].get<std::string>()), "valid");

  // Only true is a filter.
  EXPECT_EQ(Send(root_, http::verb::get, "/v1/api-keys?rotation_due=false").response.status, 400);
  EXPECT_EQ(Send(root_, http::verb::get, "/v1/api-keys?rotation_due=yes").response.status, 400);
}

TEST_F(RotationApiTest, AWorkspacesOwnPolicyWinsAndNullFallsBack) {
  const std::string ws = Workspace(R"(,"rotate_after_days":30)");
  Json j = Ok(http::verb::get, "/v1/workspaces/" + ws);
  EXPECT_EQ(j["rotate_after_days"], 30);
  EXPECT_EQ(j["rotate_after_days_override"], 30);
  const std::string plain = Workspace();
  j = Ok(http::verb::get, "/v1/workspaces/" + plain);
  EXPECT_EQ(j["rotate_after_days"], 90) << "the deployment's";
  EXPECT_TRUE(j["rotate_after_days_override"].is_null());

  const std::string a = Key(ws)["id"], b = Key(plain)["id"];
  clock_.Advance(30 * kDay);
  EXPECT_EQ(DueIds(), std::vector<std::string>{a});
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + b)["rotation_due"], false);

  j = Ok(http::verb::patch, "/v1/workspaces/" + ws, R"({"rotate_after_days":null})");
  EXPECT_EQ(j["rotate_after_days"], 90);
  EXPECT_TRUE(j["rotate_after_days_override"].is_null());
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + a)["rotation_due"], false);
  j = Ok(http::verb::patch, "/v1/workspaces/" + plain, R"({"rotate_after_days":3650})");
  EXPECT_EQ(j["rotate_after_days"], 3650);
  clock_.Advance(60 * kDay);
  EXPECT_EQ(DueIds(), std::vector<std::string>{a});

  for (const char* bad : {R"({"rotate_after_days":0})", R"({"rotate_after_days":3651})",
                          R"({"rotate_after_days":"90"})", R"({"rotate_after_days":1.5})"}) {
    const ApiReply r = Send(root_, http::verb::patch, "/v1/workspaces/" + ws, bad);
    EXPECT_EQ(r.response.status, 400) << bad << ": " << r.response.body;
    EXPECT_NE(r.response.body.find("rotate_after_days"), std::string::npos) << r.response.body;
  }
  const ApiReply r =
      Send(root_, http::verb::post, "/v1/workspaces", R"({"name":"x","rotate_after_days":0})");
  EXPECT_EQ(r.response.status, 400) << r.response.body;
  EXPECT_TRUE(Ok(http::verb::get, "/v1/workspaces/" + ws)["rotate_after_days_override"].is_null());
}

TEST_F(RotationApiTest, AManagingKeyCannotSetAWorkspacesPolicy) {
  const std::string ws = Workspace(R"(,"rotate_after_days":30)");
  const std::string manager = Key(ws, R"(,"scopes":["keys:manage"])")["key"];
  ApiReply r =
      Send(manager, http::verb::patch, "/v1/workspaces/" + ws, R"({"rotate_after_days":3650})");
  EXPECT_EQ(r.response.status, 403) << r.response.body;
  r = Send(manager, http::verb::patch, "/v1/workspaces/" + ws, R"({"rotate_after_days":null})");
  EXPECT_EQ(r.response.status, 403) << r.response.body;
  r = Send(manager, http::verb::post, "/v1/workspaces", R"({"name":"mine","rotate_after_days":1})");
  EXPECT_EQ(r.response.status, 403) << r.response.body;
  EXPECT_EQ(Ok(http::verb::get, "/v1/workspaces/" + ws)["rotate_after_days_override"], 30);
  EXPECT_EQ(Ok(http::verb::get, "/v1/workspaces")["data"].size(), 1u);
}

TEST_F(RotationApiTest, NewKeysLiveAtMostTheMaximumLifetime) {
  const std::string ws = Workspace();
  const Timestamp now = clock_.Now();
  const std::string latest = At(now + 365 * kDay);
  Json k = Key(ws);
  EXPECT_EQ(k["expires_at"], latest) << "none asked: the latest allowed";
  EXPECT_EQ(Key(ws, R"(,"expires_at":null)")["expires_at"], latest);
  EXPECT_EQ(Key(ws, R"(,"expires_at":")" + At(now + kDay) + "\"")["expires_at"], At(now + kDay));

  ExpectLifetimeRefusal(
      Send(root_, http::verb::post, "/v1/api-keys",
           R"({"workspace_id":")" + ws + R"(","environment":"live","name":"long","expires_at":")" +
               At(now + 366 * kDay) + "\"}"),
      latest);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys?workspace_id=" + ws)["data"].size(), 3u);

  // Rotation: a later expiry is refused, nothing made and the old key as it was.
  const std::string id = k["id"];
  clock_.Advance(10 * kDay);
  const std::string rotated_latest = At(clock_.Now() + 365 * kDay);
  ExpectLifetimeRefusal(
      Send(root_, http::verb::post, "/v1/api-keys/" + id + "/rotate",
           R"({"grace_seconds":60,"expires_at":")" + At(clock_.Now() + 366 * kDay) + "\"}"),
      rotated_latest);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + id)["expires_at"], latest);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys?workspace_id=" + ws)["data"].size(), 3u);
  const Json rotated =
      Ok(http::verb::post, "/v1/api-keys/" + id + "/rotate", R"({"expires_at":null})", 201);
  EXPECT_EQ(rotated["expires_at"], rotated_latest) << "asked for none: the latest allowed";

  // Update: later than created_at + 365 days, or none, is refused.
  const std::string new_id = rotated["id"];
  ExpectLifetimeRefusal(Send(root_, http::verb::patch, "/v1/api-keys/" + new_id,
                             R"({"expires_at":")" + At(clock_.Now() + 366 * kDay) + "\"}"),
                        rotated_latest);
  ExpectLifetimeRefusal(
      Send(root_, http::verb::patch, "/v1/api-keys/" + new_id, R"({"expires_at":null})"),
      rotated_latest);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + new_id)["expires_at"], rotated_latest);
}

TEST_F(RotationApiTest, AManagingKeyCannotDodgeTheMaximumLifetime) {
  const std::string ws = Workspace();
  // Keys adopted from elsewhere, with no expiry: imports are not refused.
  const std::string manager = stack_.app->format().Generate("live");
  const std::string child = stack_.app->format().Generate("live");
  Json manager_row = Json::object(), child_row = Json::object();
  manager_row["workspace_id"] = child_row["workspace_id"] = ws;
  manager_row["environment"] = child_row["environment"] = "live";
  manager_row["key"] = manager;
  manager_row["scopes"] = std::vector<std::string>{"keys:manage", "orders:read"};
  child_row["key"] = child;
  child_row["scopes"] = std::vector<std::string>{"orders:read"};
  const auto ids = Import({manager_row, child_row});
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_TRUE(Ok(http::verb::get, "/v1/api-keys/" + ids[1])["expires_at"].is_null());
  const std::string latest = At(clock_.Now() + 365 * kDay);

  // Creating: none asked gets the limit even though the caller has no expiry.
  EXPECT_EQ(Ok(http::verb::post, "/v1/api-keys", R"({"name":"c","scopes":["orders:read"]})", 201,
               manager)["expires_at"],
            latest);
  ExpectLifetimeRefusal(
      Send(manager, http::verb::post, "/v1/api-keys",
           R"({"name":"c","expires_at":")" + At(clock_.Now() + 400 * kDay) + "\"}"),
      latest);
  // Rotating: a later expiry is refused; none gets the limit.
  ExpectLifetimeRefusal(Send(manager, http::verb::post, "/v1/api-keys/" + ids[1] + "/rotate",
                             R"({"expires_at":")" + At(clock_.Now() + 400 * kDay) + "\"}"),
                        latest);
  EXPECT_TRUE(Ok(http::verb::get, "/v1/api-keys/" + ids[1])["expires_at"].is_null());
  const Json rotated = Ok(http::verb::post, "/v1/api-keys/" + ids[1] + "/rotate",
                          R"({"expires_at":null})", 201, manager);
  EXPECT_EQ(rotated["expires_at"], latest);
  // Updating the replacement to none, or later, is refused.
  const std::string new_id = rotated["id"];
  ExpectLifetimeRefusal(
      Send(manager, http::verb::patch, "/v1/api-keys/" + new_id, R"({"expires_at":null})"), latest);
  ExpectLifetimeRefusal(Send(manager, http::verb::patch, "/v1/api-keys/" + new_id,
                             R"({"expires_at":")" + At(clock_.Now() + 400 * kDay) + "\"}"),
                        latest);
  EXPECT_EQ(Ok(http::verb::get, "/v1/api-keys/" + new_id)["expires_at"], latest);
}

}  // namespace
}  // namespace keyward
