#include "server/api.h"

#include <gtest/gtest.h>

#include "core/time_format.h"
#include "server/http_status.h"
#include "server/json_codec.h"
#include "testing/api_stack.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() { root_ = (*stack_.service->EnsureRootKey(Actor{"test", ""}))->secret; }

  ApiReply Call(http::verb method, const std::string& target, const std::string& body = "",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req{method, target, 11};
    req.set(http::field::authorization, "Bearer " + root_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    return stack_.api->Handle(req, "127.0.0.1");
  }

  static Json Body(const ApiReply& r) { return Json::parse(r.response.body); }

  keyward::testing::TempDir dir_;
  ManualClock clock_;
  keyward::testing::ApiStack stack_{dir_.path().string(), &clock_, {"live"}};
  std::string root_;
};

TEST_F(ApiTest, EveryRouteIsInTheOpenApiDocument) {
  const Json doc = Json::parse(Api::OpenApiDocument());
  ASSERT_EQ(doc["openapi"].get<std::string>().substr(0, 3), "3.1");
  for (const auto& route : stack_.api->router().routes()) {
    std::string path = route.pattern;
    const size_t star = path.find("*}");
    if (star != std::string::npos) path.erase(star, 1);  // {path*} is {path} in OpenAPI
    ASSERT_TRUE(doc["paths"].contains(path)) << path << " is not in openapi.json";
    const auto& item = doc["paths"][path];
    if (route.method == "*") {
      EXPECT_TRUE(item.contains("get")) << path;
      continue;
    }
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    EXPECT_TRUE(item.contains(method)) << route.name << " is not in openapi.json";
  }
  // Each registered route names its operation, and the document has it
  // under that route's method and path.
  const auto& registered = stack_.api->routes().routes();
  ASSERT_EQ(registered.size(), stack_.api->router().routes().size());
  for (const auto& r : registered) {
    std::string path = r.pattern;
    if (const size_t star = path.find("*}"); star != std::string::npos) path.erase(star, 1);
    std::string method = std::string(r.method) == "*" ? "get" : r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(doc["paths"][path].contains(method)) << r.method << " " << path;
    EXPECT_EQ(doc["paths"][path][method].value("operationId", ""), r.operation_id) << path;
  }
}

// Every code keyward can answer is in the document's ErrorCode (errors) or
// VerificationCode (verify answers) enum.
TEST_F(ApiTest, EveryCodeAndItsStatusIsInTheOpenApiDocument) {
  const Json doc = Json::parse(Api::OpenApiDocument());
  const Json& errors = doc["components"]["schemas"]["ErrorCode"]["enum"];
  const Json& verify = doc["components"]["schemas"]["VerificationCode"]["enum"];
  auto has = [](const Json& list, std::string_view name) {
    for (const auto& e : list)
      if (e.get<std::string>() == name) return true;
    return false;
  };
  for (int i = 0; i < kCodeCount; ++i) {
    const Code code = static_cast<Code>(i);
    if (code == Code::kOk) continue;
    const std::string_view name = CodeName(code);
    if (code == Code::kValid) {
      EXPECT_TRUE(has(verify, name));
      continue;
    }
    EXPECT_TRUE(has(errors, name)) << name << " is not in ErrorCode";
    if (IsVerifyCode(code)) {
      EXPECT_TRUE(has(verify, name)) << name << " is not in VerificationCode";
    }
  }
}

TEST_F(ApiTest, ErrorsHaveTheJsonShape) {
  auto r = Call(http::verb::get, "/v1/nothing");
  EXPECT_EQ(r.response.status, 404);
  EXPECT_EQ(Body(r)["error"], "not_found");
  r = Call(http::verb::put, "/v1/api-keys/key_x");
  EXPECT_EQ(r.response.status, 405);
  EXPECT_EQ(Body(r)["error"], "method_not_allowed");
  EXPECT_EQ(r.response.Get("Allow"), "GET, PATCH, DELETE");
  r = Call(http::verb::post, "/v1/workspaces", "{not json", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.response.status, 400);
  EXPECT_EQ(Body(r)["error"], "invalid_json");
  r = Call(http::verb::post, "/v1/workspaces", "name=x",
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.response.status, 415);
  EXPECT_EQ(r.response.Get("Cache-Control"), "no-store");
}

// Found by the JSON-body fuzzer: a workspace named with the root key was
// stored and echoed, and would have been listed and audited in full.
TEST_F(ApiTest, WritesHoldingAKeyAreRefusedAndStoreNothing) {
  auto ws = Call(http::verb::post, "/v1/workspaces", R"({"name":"Acme"})");
  ASSERT_EQ(ws.response.status, 201);
  const std::string ws_id = Body(ws)["id"];
  auto created = Call(http::verb::post, "/v1/api-keys",
                      R"({"workspace_id":")" + ws_id + R"(","environment":"live","name":"k"})");
  ASSERT_EQ(created.response.status, 201);
  const std::string secret = Body(created)["key"];
  const std::string audit_before = Call(http::verb::get, "/v1/audit-log").response.body;

  const std::vector<std::pair<std::string, std::string>> writes = {
      {"/v1/workspaces", R"({"name":"x )" + root_ + R"("})"},
      {"/v1/api-keys", R"({"workspace_id":")" + ws_id +
                           R"(","environment":"live","name":"my key )" + secret + R"("})"},
      // Escaped characters are read as what they stand for.
      {"/v1/api-keys", R"({"workspace_id":")" + ws_id +
                           R"(","environment":"live","name":"n","meta":{"note":"s)" +
                           secret.substr(1) + R"("}})"},
  };
  for (const auto& [target, body] : writes) {
    auto r = Call(http::verb::post, target, body);
    EXPECT_EQ(r.response.status, 400) << body;
    EXPECT_EQ(Body(r)["error"], "invalid_request");
    EXPECT_EQ(r.response.body.find(secret), std::string::npos);
    EXPECT_EQ(r.response.body.find(root_), std::string::npos);
  }
  auto revoke = Call(http::verb::delete_, "/v1/api-keys/" + Body(created)["id"].get<std::string>(),
                     R"({"reason":"leaked: )" + secret + R"("})");
  EXPECT_EQ(revoke.response.status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/audit-log").response.body, audit_before);

  // Something key-like that is not a key (a wrong checksum) is only a name.
  std::string not_a_key = secret;
  not_a_key[10] = not_a_key[10] == 'A' ? 'B' : 'A';
  auto ok = Call(http::verb::post, "/v1/workspaces", R"({"name":")" + not_a_key + R"("})");
  EXPECT_EQ(ok.response.status, 201) << ok.response.body;
}

TEST_F(ApiTest, CreateVerifyRevokeThroughTheApi) {
  auto ws = Call(http::verb::post, "/v1/workspaces", R"({"name":"Acme","max_active_keys":5})");
  ASSERT_EQ(ws.response.status, 201) << ws.response.body;
  const std::string ws_id = Body(ws)["id"];
  auto created = Call(http::verb::post, "/v1/api-keys",
                      R"({"workspace_id":")" + ws_id + R"(","environment":"live","name":"prod"})");
  ASSERT_EQ(created.response.status, 201) << created.response.body;
  const Json key = Body(created);
  const std::string secret = key["key"];
  EXPECT_EQ(secret.rfind("sk_live_", 0), 0u);
  EXPECT_FALSE(key.contains("hash"));

  auto got = Call(http::verb::get, "/v1/api-keys/" + key["id"].get<std::string>());
  EXPECT_FALSE(Body(got).contains("key"));  // shown once, at creation

  HttpRequest auth{http::verb::get, "/v1/auth", 11};
  auth.set("X-API-Key", secret);
  auto ok = stack_.api->Handle(auth, "10.0.0.1");
  EXPECT_EQ(ok.response.status, 200);
  EXPECT_EQ(ok.response.Get("X-Keyward-Workspace-Id"), ws_id);

  auto revoked = Call(http::verb::delete_, "/v1/api-keys/" + key["id"].get<std::string>());
  EXPECT_EQ(revoked.response.status, 200);
  auto refused = stack_.api->Handle(auth, "10.0.0.1");
  EXPECT_EQ(refused.response.status, 401);
  EXPECT_EQ(Body(refused)["error"], "revoked");
  EXPECT_EQ(refused.response.body.find(secret), std::string::npos);
}

// The composition root's clock: the injected wall clock jumps both ways and
// no expired key comes back, no rate-limited key is let through, and the
// answers of /v1/auth follow.
TEST_F(ApiTest, AWallClockJumpRevivesNothingAndUnlimitsNothing) {
  const std::string ws_id =
      Body(Call(http::verb::post, "/v1/workspaces", R"({"name":"Clock"})"))["id"];
  auto make = [&](const std::string& extra) {
    auto r =
        Call(http::verb::post, "/v1/api-keys",
             R"({"workspace_id":")" + ws_id + R"(","environment":"live","name":"k")" + extra + "}");
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    return Body(r)["key"].get<std::string>();
  };
  const std::string expiring =
      make(R"(,"expires_at":")" + FormatRfc3339(clock_.Now() + 60'000) + R"(")");
  const std::string limited = make(R"(,"rate_limit":{"limit":2,"period_seconds":3600})");
  auto gateway = [&](const std::string& key) {
    HttpRequest auth{http::verb::get, "/v1/auth", 11};
    auth.set("X-API-Key", key);
    const ApiReply r = stack_.api->Handle(auth, "10.0.0.1");
    return r.response.status == 200 ? std::string("valid") : Body(r)["error"].get<std::string>();
  };
  EXPECT_EQ(gateway(expiring), "valid");
  EXPECT_EQ(gateway(limited), "valid");
  EXPECT_EQ(gateway(limited), "valid");
  EXPECT_EQ(gateway(limited), "rate_limited");

  clock_.Advance(61'000);
  EXPECT_EQ(gateway(expiring), "expired");
  clock_.JumpWall(-24 * 3600 * 1000);  // set back a day
  EXPECT_EQ(gateway(expiring), "expired") << "a clock set back revived an expired key";
  EXPECT_EQ(gateway(limited), "rate_limited");
  clock_.JumpWall(2 * 24 * 3600 * 1000);  // and a day forward of where it was
  EXPECT_EQ(gateway(limited), "rate_limited") << "a clock set forward refilled the bucket";
  EXPECT_EQ(gateway(expiring), "expired");
}

TEST(ApiResponseTest, HeaderValuesCannotStartHeadersOfTheirOwn) {
  ApiResponse r;
  r.Set("X-Keyward-Key-Id", "key_1\r\nSet-Cookie: evil=1");
  EXPECT_EQ(r.Get("X-Keyward-Key-Id"), "key_1Set-Cookie: evil=1");
  EXPECT_EQ(r.Get("Set-Cookie"), "");
  std::string wire;
  r.body = "{}";
  r.content_type = "application/json";
  r.SerializeTo(&wire);
  EXPECT_EQ(wire,
            "HTTP/1.1 200 OK\r\nX-Keyward-Key-Id: key_1Set-Cookie: evil=1\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  r.keep_alive = false;
  r.status = 413;
  r.SerializeTo(&wire);
  EXPECT_EQ(wire.substr(0, 33), "HTTP/1.1 413 Payload Too Large\r\nX");
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(ApiTest, ManagementNeedsACredential) {
  HttpRequest req{http::verb::get, "/v1/workspaces", 11};
  auto r = stack_.api->Handle(req, "127.0.0.1");
  EXPECT_EQ(r.response.status, 401);
  EXPECT_EQ(Body(r)["error"], "unauthorized");
  EXPECT_FALSE(r.response.Get("WWW-Authenticate").empty());
  req.set(http::field::authorization, "Bearer kw_root_" + std::string(40, 'a'));
  EXPECT_EQ(stack_.api->Handle(req, "127.0.0.1").response.status, 401);
}

}  // namespace
}  // namespace keyward
