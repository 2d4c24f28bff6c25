#include "server/api.h"

#include <gtest/gtest.h>

#include "server/json_codec.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : format_(std::move(KeyFormat::Create("sk", {"live", "test"})).value()) {
    store_ = std::move(SqliteStore::Open(dir_.File("keyward.db"))).value();
    KeyServiceOptions so;
    so.store = store_.get();
    so.format = &format_;
    so.clock = &clock_;
    service_ = std::make_unique<KeyService>(so);
    resolver_ = std::make_unique<StoreKeyResolver>(store_.get());
    VerifierOptions vo;
    vo.format = &format_;
    vo.accept_environments = {"live"};
    vo.clock = &clock_;
    vo.resolver = resolver_.get();
    vo.rate_limiter = &limiter_;
    verifier_ = std::make_unique<Verifier>(vo);
    ApiOptions ao;
    ao.service = service_.get();
    ao.verifier = verifier_.get();
    api_ = std::make_unique<Api>(ao);
    root_ = (*service_->EnsureRootKey(Actor{"test", ""}))->secret;
  }

  ApiReply Call(http::verb method, const std::string& target, const std::string& body = "",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req{method, target, 11};
    req.set(http::field::authorization, "Bearer " + root_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    return api_->Handle(req, "127.0.0.1");
  }

  static Json Body(const ApiReply& r) { return Json::parse(r.response.body()); }

  keyward::testing::TempDir dir_;
  KeyFormat format_;
  ManualClock clock_;
  RateLimiter limiter_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<KeyService> service_;
  std::unique_ptr<StoreKeyResolver> resolver_;
  std::unique_ptr<Verifier> verifier_;
  std::unique_ptr<Api> api_;
  std::string root_;
};

TEST_F(ApiTest, EveryRouteIsInTheOpenApiDocument) {
  const Json doc = Json::parse(Api::OpenApiDocument());
  ASSERT_EQ(doc["openapi"].get<std::string>().substr(0, 3), "3.1");
  for (const auto& route : api_->router().routes()) {
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
}

TEST_F(ApiTest, ErrorsHaveTheJsonShape) {
  auto r = Call(http::verb::get, "/v1/nothing");
  EXPECT_EQ(r.response.result_int(), 404u);
  EXPECT_EQ(Body(r)["error"], "not_found");
  r = Call(http::verb::put, "/v1/api-keys/key_x");
  EXPECT_EQ(r.response.result_int(), 405u);
  EXPECT_EQ(Body(r)["error"], "method_not_allowed");
  EXPECT_EQ(r.response[http::field::allow], "GET, PATCH, DELETE");
  r = Call(http::verb::post, "/v1/workspaces", "{not json", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.response.result_int(), 400u);
  EXPECT_EQ(Body(r)["error"], "invalid_json");
  r = Call(http::verb::post, "/v1/workspaces", "name=x",
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.response.result_int(), 415u);
  EXPECT_EQ(r.response[http::field::cache_control], "no-store");
}

TEST_F(ApiTest, CreateVerifyRevokeThroughTheApi) {
  auto ws = Call(http::verb::post, "/v1/workspaces", R"({"name":"Acme","max_active_keys":5})");
  ASSERT_EQ(ws.response.result_int(), 201u) << ws.response.body();
  const std::string ws_id = Body(ws)["id"];
  auto created = Call(http::verb::post, "/v1/api-keys",
                      R"({"workspace_id":")" + ws_id + R"(","environment":"live","name":"prod"})");
  ASSERT_EQ(created.response.result_int(), 201u) << created.response.body();
  const Json key = Body(created);
  const std::string secret = key["key"];
  EXPECT_EQ(secret.rfind("sk_live_", 0), 0u);
  EXPECT_FALSE(key.contains("hash"));

  auto got = Call(http::verb::get, "/v1/api-keys/" + key["id"].get<std::string>());
  EXPECT_FALSE(Body(got).contains("key"));  // shown once, at creation

  HttpRequest auth{http::verb::get, "/v1/auth", 11};
  auth.set("X-API-Key", secret);
  auto ok = api_->Handle(auth, "10.0.0.1");
  EXPECT_EQ(ok.response.result_int(), 200u);
  EXPECT_EQ(ok.response["X-Keyward-Workspace-Id"], ws_id);

  auto revoked = Call(http::verb::delete_, "/v1/api-keys/" + key["id"].get<std::string>());
  EXPECT_EQ(revoked.response.result_int(), 200u);
  auto refused = api_->Handle(auth, "10.0.0.1");
  EXPECT_EQ(refused.response.result_int(), 401u);
  EXPECT_EQ(Body(refused)["error"], "revoked");
  EXPECT_EQ(refused.response.body().find(secret), std::string::npos);
}

TEST_F(ApiTest, ManagementNeedsACredential) {
  HttpRequest req{http::verb::get, "/v1/workspaces", 11};
  auto r = api_->Handle(req, "127.0.0.1");
  EXPECT_EQ(r.response.result_int(), 401u);
  EXPECT_EQ(Body(r)["error"], "unauthorized");
  EXPECT_FALSE(r.response[http::field::www_authenticate].empty());
  req.set(http::field::authorization, "Bearer kw_root_" + std::string(40, 'a'));
  EXPECT_EQ(api_->Handle(req, "127.0.0.1").response.result_int(), 401u);
}

}  // namespace
}  // namespace keyward
