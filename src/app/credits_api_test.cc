// Plans and credits through the HTTP API, in process, with the clock moved
// instead of slept: inheritance and overrides, the allowance and its reset,
// key credits and refills, every source of a request's cost, free refusals,
// environments apart, 429 with its headers, thresholds in the audit log.
#include <gtest/gtest.h>

#include "core/time_format.h"
#include "server/api.h"
#include "server/json_codec.h"
#include "testing/api_stack.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

class CreditsApiTest : public ::testing::Test {
 protected:
  CreditsApiTest() {
    clock_.Set(*ParseRfc3339("2026-01-31T23:00:00Z"));
    root_ = (*stack_.service->EnsureRootKey(Actor{"test", ""}))->secret;
  }

  ApiReply Call(http::verb method, const std::string& target, const std::string& body = "",
                const Headers& headers = {}) {
    HttpRequest req{method, target, 11};
    req.set(http::field::authorization, "Bearer " + root_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.prepare_payload();
    return stack_.api->Handle(req, "127.0.0.1");
  }
  Json Ok(http::verb method, const std::string& target, const std::string& body = "",
          int status = 200) {
    const ApiReply r = Call(method, target, body);
    EXPECT_EQ(r.response.status, status) << target << ": " << r.response.body;
    return Json::parse(r.response.body, nullptr, false);
  }

  std::string Plan(const std::string& body) {
    return Ok(http::verb::post, "/v1/plans", body, 201)["id"].get<std::string>();
  }
  std::string Workspace(const std::string& extra = "") {
    return Ok(http::verb::post, "/v1/workspaces", R"({"name":"Acme")" + extra + "}", 201)["id"]
        .get<std::string>();
  }
  std::string Key(const std::string& ws, const std::string& env = "live",
                  const std::string& extra = "") {
    return Ok(http::verb::post, "/v1/api-keys",
              R"({"workspace_id":")" + ws + R"(","environment":")" + env +
                  R"(","name":"k","scopes":["search"])" + extra + "}",
              201)["key"]
        .get<std::string>();
  }
  // GET /v1/auth as nginx asks it, for GET <uri>.
  ApiReply Gateway(const std::string& key, const std::string& uri = "/v1/anything",
                   const Headers& extra = {}) {
    HttpRequest req{http::verb::get, "/v1/auth", 11};
    req.set("X-API-Key", key);
    req.set("X-Original-Method", "GET");
    req.set("X-Original-URI", uri);
    for (const auto& [k, v] : extra) req.set(k, v);
    return stack_.api->Handle(req, "127.0.0.1");
  }
  std::string Code(const ApiReply& r) {
    if (r.response.status == 200) return "valid";
    return Json::parse(r.response.body)["error"].get<std::string>();
  }
  Json Verify(const std::string& key, const std::string& extra = "") {
    return Ok(http::verb::post, "/v1/keys/verify", R"({"key":")" + key + "\"" + extra + "}");
  }
  int64_t WorkspaceLeft(const std::string& ws, const std::string& env = "live") {
    const Json j = Ok(http::verb::get, "/v1/workspaces/" + ws);
    return j["credits"]["environments"][env]["remaining"].get<int64_t>();
  }

  keyward::testing::TempDir dir_;
  ManualClock clock_;
  keyward::testing::ApiStack stack_{dir_.path().string(), &clock_, {"live", "test"}};
  std::string root_;
};

TEST_F(CreditsApiTest, AWorkspaceTakesItsPlansValuesUnlessItHasItsOwn) {
  const std::string plan = Plan(
      R"({"name":"Pro","monthly_credits":100,"rate_limit":{"limit":50,"period_seconds":60},"max_active_keys":3})");
  const std::string ws = Workspace(R"(,"plan_id":")" + plan + "\"");
  Json j = Ok(http::verb::get, "/v1/workspaces/" + ws);
  EXPECT_EQ(j["plan_id"], plan);
  EXPECT_EQ(j["monthly_credits"], 100);
  EXPECT_EQ(j["max_active_keys"], 3);
  EXPECT_EQ(j["rate_limit"]["limit"], 50);
  EXPECT_EQ(j["credits"]["environments"]["live"]["remaining"], 100);

  j = Ok(
      http::verb::patch, "/v1/workspaces/" + ws,
      R"({"monthly_credits":5,"max_active_keys":1,"rate_limit":{"limit":2,"period_seconds":60}})");
  EXPECT_EQ(j["monthly_credits"], 5);
  EXPECT_EQ(j["monthly_credits_override"], 5);
  EXPECT_EQ(j["max_active_keys"], 1);
  EXPECT_EQ(j["rate_limit"]["limit"], 2);
  // The workspace's own key limit holds.
  const std::string key = Key(ws);
  EXPECT_EQ(Call(http::verb::post, "/v1/api-keys",
                 R"({"workspace_id":")" + ws + R"(","environment":"live","name":"second"})")
                .response.status,
            409);
  // Its own rate limit (2 a minute) holds on the next request, over the plan's 50.
  EXPECT_EQ(Code(Gateway(key)), "valid");
  EXPECT_EQ(Code(Gateway(key)), "valid");
  EXPECT_EQ(Code(Gateway(key)), "rate_limited");

  // Cleared, the plan's values come back; a plan change reaches the next request.
  Ok(http::verb::patch, "/v1/workspaces/" + ws,
     R"({"monthly_credits":null,"max_active_keys":null,"rate_limit":null})");
  Ok(http::verb::patch, "/v1/plans/" + plan, R"({"monthly_credits":2})");
  j = Ok(http::verb::get, "/v1/workspaces/" + ws);
  EXPECT_EQ(j["monthly_credits"], 2);
  EXPECT_EQ(j["max_active_keys"], 3);
  clock_.Advance(61'000);  // the rate limit's minute passes; the month does not
  EXPECT_EQ(Code(Gateway(key)), "quota_exceeded");  // 2 spent already this month
}

TEST_F(CreditsApiTest, TheRequestPastTheAllowanceIs429WithTheHeadersAGatewayNeeds) {
  const std::string plan = Plan(R"({"name":"Ten","monthly_credits":10})");
  const std::string ws = Workspace(R"(,"plan_id":")" + plan + "\"");
  const std::string key = Key(ws);
  for (int i = 0; i < 10; ++i) {
    const ApiReply r = Gateway(key);
    ASSERT_EQ(r.response.status, 200) << i;
    EXPECT_EQ(std::string(r.response.Get("RateLimit")),
              "\"credits\";r=" + std::to_string(9 - i) + ";t=3600");
  }
  const ApiReply r = Gateway(key);
  EXPECT_EQ(r.response.status, 429);
  EXPECT_EQ(Code(r), "quota_exceeded");
  // The month ends in an hour (2026-01-31T23:00Z).
  EXPECT_EQ(std::string(r.response.Get("Retry-After")), "3600");
  EXPECT_EQ(std::string(r.response.Get("RateLimit-Policy")), "\"credits\";q=10;w=2678400");
  EXPECT_EQ(std::string(r.response.Get("RateLimit")), "\"credits\";r=0;t=3600");
  EXPECT_NE(Json::parse(r.response.body)["message"].get<std::string>().find("renew at "),
            std::string::npos);
  // verify says the same, valid false.
  const Json v = Verify(key);
  EXPECT_EQ(v["valid"], false);
  EXPECT_EQ(v["code"], "quota_exceeded");
  EXPECT_EQ(v["credits"]["workspace"]["remaining"], 0);
  EXPECT_EQ(v["credits"]["workspace"]["limit"], 10);
}

TEST_F(CreditsApiTest, TheAllowanceResetsAtThePeriodBoundary) {
  const std::string ws = Workspace(R"(,"monthly_credits":3)");
  const std::string anchored = Workspace(R"(,"monthly_credits":3,"billing_anchor_day":15)");
  const std::string key = Key(ws), anchored_key = Key(anchored);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Code(Gateway(key)), "valid");
    EXPECT_EQ(Code(Gateway(anchored_key)), "valid");
  }
  EXPECT_EQ(Code(Gateway(key)), "quota_exceeded");
  clock_.Set(*ParseRfc3339("2026-01-31T23:59:59.999Z"));
  EXPECT_EQ(Code(Gateway(key)), "quota_exceeded");
  clock_.Set(*ParseRfc3339("2026-02-01T00:00:00Z"));
  // A new month for the calendar workspace; the anchored one runs to the 15th.
  EXPECT_EQ(Code(Gateway(key)), "valid");
  EXPECT_EQ(WorkspaceLeft(ws), 2);
  EXPECT_EQ(Code(Gateway(anchored_key)), "quota_exceeded");
  clock_.Set(*ParseRfc3339("2026-02-15T00:00:00Z"));
  EXPECT_EQ(Code(Gateway(anchored_key)), "valid");
  const Json j = Ok(http::verb::get, "/v1/workspaces/" + anchored);
  EXPECT_EQ(j["credits"]["period_start"], "2026-02-15T00:00:00Z");
  EXPECT_EQ(j["credits"]["period_end"], "2026-03-15T00:00:00Z");
}

TEST_F(CreditsApiTest, KeyCreditsRunOutAndRefill) {
  const std::string ws = Workspace(R"(,"monthly_credits":100)");
  const std::string key =
      Key(ws, "live", R"(,"credits":{"remaining":2,"refill":{"amount":3,"interval":"daily"}})");
  EXPECT_EQ(Verify(key)["credits"]["key"]["remaining"], 1);
  EXPECT_EQ(Verify(key)["credits"]["key"]["remaining"], 0);
  Json v = Verify(key);
  EXPECT_EQ(v["code"], "quota_exceeded");
  EXPECT_EQ(v["credits"]["key"]["reset"], "2026-02-01T00:00:00Z");
  EXPECT_EQ(v["credits"]["workspace"]["remaining"], 98);  // refused by the key: nothing taken
  // The key's page shows what is left.
  const std::string id = v["key_id"].get<std::string>();
  Json k = Ok(http::verb::get, "/v1/api-keys/" + id);
  EXPECT_EQ(k["credits"]["remaining"], 0);
  EXPECT_EQ(k["credits"]["refill"]["amount"], 3);
  clock_.Set(*ParseRfc3339("2026-02-01T00:00:01Z"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Verify(key)["code"], "valid");
  EXPECT_EQ(Verify(key)["code"], "quota_exceeded");

  // Setting credits starts a new balance; null removes them.
  k = Ok(http::verb::patch, "/v1/api-keys/" + id, R"({"credits":{"remaining":1}})");
  EXPECT_EQ(k["credits"]["remaining"], 1);
  EXPECT_EQ(Verify(key)["code"], "valid");
  EXPECT_EQ(Verify(key)["code"], "quota_exceeded");
  Ok(http::verb::patch, "/v1/api-keys/" + id, R"({"credits":null})");
  EXPECT_EQ(Verify(key)["code"], "valid");
  EXPECT_FALSE(Verify(key)["credits"].contains("key"));
}

TEST_F(CreditsApiTest, ARotatedKeySharesItsPredecessorsCredits) {
  const std::string ws = Workspace();
  const std::string key = Key(ws, "live", R"(,"credits":{"remaining":3})");
  const std::string id = Verify(key)["key_id"].get<std::string>();  // 2 left
  const Json rotated =
      Ok(http::verb::post, "/v1/api-keys/" + id + "/rotate", R"({"grace_seconds":60})", 201);
  EXPECT_EQ(rotated["credits"]["remaining"], 2);
  const std::string next = rotated["key"].get<std::string>();
  EXPECT_EQ(Verify(next)["code"], "valid");
  EXPECT_EQ(Verify(key)["code"], "valid");
  EXPECT_EQ(Verify(next)["code"], "quota_exceeded");
}

TEST_F(CreditsApiTest, EverySourceOfCost) {
  const std::string plan = Plan(
      R"({"name":"Search","monthly_credits":1000,"costs":{"GET /v1/amazon/search":5,"GET /v1/amazon/**":2}})");
  const std::string ws = Workspace(R"(,"plan_id":")" + plan + "\"");
  const std::string key = Key(ws);
  int64_t left = 1000;
  auto spent = [&](int64_t cost) {
    const int64_t now_left = WorkspaceLeft(ws);
    EXPECT_EQ(left - now_left, cost);
    left = now_left;
  };
  EXPECT_EQ(Code(Gateway(key, "/v1/other")), "valid");  // no rule: 1
  spent(1);
  EXPECT_EQ(Code(Gateway(key, "/v1/amazon/search?q=lamp")), "valid");  // the rule's 5
  spent(5);
  EXPECT_EQ(Code(Gateway(key, "/v1/amazon/product/7")), "valid");
  spent(2);
  // A path spelled to dodge the rule costs the most any rule costs.
  EXPECT_EQ(Code(Gateway(key, "/v1/amazon//search")), "valid");
  spent(5);
  // The gateway's header wins over the rules; 0 checks without spending.
  EXPECT_EQ(Code(Gateway(key, "/v1/amazon/search", {{"X-Keyward-Cost", "3"}})), "valid");
  spent(3);
  EXPECT_EQ(Code(Gateway(key, "/v1/amazon/search", {{"X-Keyward-Cost", "0"}})), "valid");
  spent(0);
  // A client's own copy next to the gateway's is refused, never obeyed.
  {
    HttpRequest req{http::verb::get, "/v1/auth", 11};
    req.set("X-API-Key", key);
    req.insert("X-Keyward-Cost", "0");
    req.insert("X-Keyward-Cost", "5");
    EXPECT_EQ(stack_.api->Handle(req, "127.0.0.1").response.status, 400);
  }
  for (const char* bad : {"-1", "1.5", "abc", "1000001", "0x10"}) {
    const ApiReply r = Gateway(key, "/v1/amazon/search", {{"X-Keyward-Cost", bad}});
    EXPECT_EQ(r.response.status, 400) << bad;
    EXPECT_EQ(Code(r), "invalid_request");
  }
  spent(0);
  // verify: cost in the body, else the rules by method and path.
  Json v = Verify(key, R"(,"cost":7)");
  EXPECT_EQ(v["cost"], 7);
  spent(7);
  v = Verify(key, R"(,"method":"GET","path":"/v1/amazon/search")");
  EXPECT_EQ(v["cost"], 5);
  spent(5);
  EXPECT_EQ(Call(http::verb::post, "/v1/keys/verify", R"({"key":")" + key + R"(","cost":-2})")
                .response.status,
            400);
  spent(0);
}

TEST_F(CreditsApiTest, RefusedVerificationsAreFreeAndTestTrafficNeverSpendsLive) {
  const std::string ws = Workspace(R"(,"monthly_credits":5)");
  const std::string live = Key(ws, "live", R"(,"ip_allowlist":["10.0.0.0/8"])");
  const std::string test = Key(ws, "test");
  // Refused for its address, a missing scope and a bad key: nothing spent.
  EXPECT_EQ(Code(Gateway(live)), "ip_not_allowed");
  EXPECT_EQ(Verify(live, R"(,"ip":"10.1.1.1","scopes":["admin"])")["code"], "insufficient_scope");
  EXPECT_EQ(WorkspaceLeft(ws), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Verify(test)["code"], "valid");
  EXPECT_EQ(Verify(test)["code"], "quota_exceeded");
  EXPECT_EQ(WorkspaceLeft(ws, "test"), 0);
  EXPECT_EQ(WorkspaceLeft(ws, "live"), 5);
  EXPECT_EQ(Verify(live, R"(,"ip":"10.1.1.1")")["code"], "valid");
  EXPECT_EQ(WorkspaceLeft(ws, "live"), 4);
}

TEST_F(CreditsApiTest, OnlyARootKeySetsCredits) {
  const std::string ws = Workspace();
  const std::string manager = Key(ws, "live", R"(,"scopes":["keys:manage"])");
  auto as_manager = [&](http::verb m, const std::string& target, const std::string& body) {
    HttpRequest req{m, target, 11};
    req.set(http::field::authorization, "Bearer " + manager);
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return stack_.api->Handle(req, "127.0.0.1");
  };
  ApiReply r = as_manager(http::verb::post, "/v1/api-keys",
                          R"({"name":"free","credits":{"remaining":1000000}})");
  EXPECT_EQ(r.response.status, 403) << r.response.body;
  const std::string id = Verify(manager)["key_id"].get<std::string>();
  r = as_manager(http::verb::patch, "/v1/api-keys/" + id, R"({"credits":{"remaining":5}})");
  EXPECT_EQ(r.response.status, 403);
  EXPECT_TRUE(Ok(http::verb::get, "/v1/api-keys/" + id)["credits"].is_null());
  // Its keys are held to the workspace's plan rate limit: a managing key
  // without one of its own cannot hand out a faster one.
  const std::string plan = Plan(R"({"name":"Slow","rate_limit":{"limit":10,"period_seconds":60}})");
  Ok(http::verb::patch, "/v1/workspaces/" + ws, R"({"plan_id":")" + plan + "\"}");
  r = as_manager(http::verb::post, "/v1/api-keys",
                 R"({"name":"fast","rate_limit":{"limit":1000,"period_seconds":60}})");
  EXPECT_EQ(r.response.status, 403) << r.response.body;
  r = as_manager(http::verb::post, "/v1/api-keys",
                 R"({"name":"slow","rate_limit":{"limit":5,"period_seconds":60}})");
  EXPECT_EQ(r.response.status, 201) << r.response.body;
  // A plan is the operator's: a managing key cannot reach /v1/plans.
  r = as_manager(http::verb::post, "/v1/plans", R"({"name":"mine","monthly_credits":1000000})");
  EXPECT_EQ(r.response.status, 403);
}

TEST_F(CreditsApiTest, AManagingKeyExportsOnlyItsOwnWorkspaceAndEnvironment) {
  const std::string ws = Workspace(R"(,"monthly_credits":100)");
  const std::string other = Workspace();
  const std::string manager = Key(ws, "live", R"(,"scopes":["keys:manage"])");
  Verify(Key(ws, "test"));
  Verify(Key(ws, "live"));
  Verify(Key(other, "live"));
  ASSERT_TRUE(stack_.app->FlushUsage().ok());
  auto as_manager = [&](const std::string& target) {
    HttpRequest req{http::verb::get, target, 11};
    req.set(http::field::authorization, "Bearer " + manager);
    return stack_.api->Handle(req, "127.0.0.1");
  };
  EXPECT_EQ(as_manager("/v1/usage/export?workspace_id=" + other).response.status, 404);
  EXPECT_EQ(as_manager("/v1/usage/export?workspace_id=" + ws + "&environment=test").response.status,
            404);
  const ApiReply own = as_manager("/v1/usage/export?workspace_id=" + ws);
  ASSERT_EQ(own.response.status, 200) << own.response.body;
  // Streamed: the body is produced piece by piece after the handler returns.
  std::string body;
  bool done = false;
  ASSERT_TRUE(own.response.stream);
  while (!done) ASSERT_TRUE(own.response.stream(&body, &done).ok());
  EXPECT_EQ(body.find(",test,"), std::string::npos) << body;
  EXPECT_NE(body.find(",live,1,0,1,"), std::string::npos) << body;
  EXPECT_EQ(as_manager("/v1/usage?workspace_id=" + other).response.status, 404);
}

TEST_F(CreditsApiTest, BadPlansAndWorkspacesAreRefusedAndNothingIsStored) {
  for (const char* body :
       {R"({"name":"x","monthly_credits":-1})", R"({"name":"x","costs":{"GET /v1/[":5}})",
        R"({"name":"x","costs":{"GET /v1/a":-5}})", R"({"name":"x","costs":{"GET /v1/a":"5"}})",
        R"({"name":""})", R"({"name":"x","max_active_keys":0})"}) {
    const ApiReply r = Call(http::verb::post, "/v1/plans", body);
    EXPECT_EQ(r.response.status, 400) << body << " " << r.response.body;
  }
  EXPECT_TRUE(Ok(http::verb::get, "/v1/plans")["data"].empty());
  EXPECT_EQ(Call(http::verb::post, "/v1/workspaces", R"({"name":"a","plan_id":"plan_nope"})")
                .response.status,
            400);
  EXPECT_EQ(Call(http::verb::post, "/v1/workspaces", R"({"name":"a","billing_anchor_day":32})")
                .response.status,
            400);
  EXPECT_TRUE(Ok(http::verb::get, "/v1/workspaces")["data"].empty());
  EXPECT_EQ(Call(http::verb::patch, "/v1/plans/plan_nope", R"({"name":"x"})").response.status, 404);
}

TEST_F(CreditsApiTest, ThresholdsAreRecordedOncePerPeriodInTheAuditLog) {
  const std::string ws = Workspace(R"(,"monthly_credits":10)");
  const std::string key = Key(ws);
  auto events = [&](const std::string& action) {
    return Ok(http::verb::get, "/v1/audit-log?action=" + action + "&workspace_id=" + ws)["data"]
        .size();
  };
  for (int i = 0; i < 7; ++i) Gateway(key);
  ASSERT_TRUE(stack_.app->FlushUsage().ok());
  EXPECT_EQ(events("workspace.credits_low"), 0u);
  Gateway(key);  // 8 of 10: 80 %
  ASSERT_TRUE(stack_.app->FlushUsage().ok());
  EXPECT_EQ(events("workspace.credits_low"), 1u);
  for (int i = 0; i < 5; ++i) Gateway(key);  // 2 more valid, 3 refused
  ASSERT_TRUE(stack_.app->FlushUsage().ok());
  EXPECT_EQ(events("workspace.credits_low"), 1u);
  EXPECT_EQ(events("workspace.credits_exhausted"), 1u);
  // A new month records them again.
  clock_.Set(*ParseRfc3339("2026-02-03T00:00:00Z"));
  for (int i = 0; i < 10; ++i) Gateway(key);
  ASSERT_TRUE(stack_.app->FlushUsage().ok());
  EXPECT_EQ(events("workspace.credits_low"), 2u);
  EXPECT_EQ(events("workspace.credits_exhausted"), 2u);
}

TEST_F(CreditsApiTest, UsageByDayAndMonthCarriesCreditsAndTheAllowance) {
  const std::string ws = Workspace(R"(,"monthly_credits":100)");
  const std::string key = Key(ws);
  Verify(key, R"(,"cost":4)");
  Verify(key, R"(,"cost":4)");
  Verify(key, R"(,"scopes":["nope"])");  // refused, free
  clock_.Set(*ParseRfc3339("2026-02-02T10:00:00Z"));
  Verify(key, R"(,"cost":10)");
  ASSERT_TRUE(stack_.app->FlushUsage().ok());
  Json u = Ok(http::verb::get,
              "/v1/usage?workspace_id=" + ws + "&granularity=month&from=2026-01-01T00:00:00Z");
  ASSERT_EQ(u["data"].size(), 2u) << u.dump();
  EXPECT_EQ(u["data"][0]["start"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(u["data"][0]["valid"], 2);
  EXPECT_EQ(u["data"][0]["refused"], 1);
  EXPECT_EQ(u["data"][0]["credits"], 8);
  EXPECT_EQ(u["data"][0]["by_code"]["insufficient_scope"], 1);
  EXPECT_EQ(u["data"][1]["credits"], 10);
  EXPECT_EQ(u["credits"], 18);
  EXPECT_EQ(u["allowance"]["environments"]["live"]["remaining"], 90);
  u = Ok(http::verb::get, "/v1/usage?workspace_id=" + ws +
                              "&granularity=day&environment=test&from=2026-01-01T00:00:00Z");
  EXPECT_TRUE(u["data"].empty());
  EXPECT_EQ(
      Call(http::verb::get, "/v1/usage?workspace_id=" + ws + "&environment=prod").response.status,
      400);
}

}  // namespace
}  // namespace keyward
