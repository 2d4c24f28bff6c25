// Browser sessions through the Api, on a manual clock: portal links that
// work once and for a while, sessions that end on time and with their root
// key, and the checks a cookie must pass (session header, Origin, CSRF,
// permissions, tenant).
#include <gtest/gtest.h>

#include "core/web_sessions.h"
#include "server/api.h"
#include "server/json_codec.h"
#include "testing/api_stack.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kOrigin = "http://127.0.0.1:8080";

class SessionsTest : public ::testing::Test {
 protected:
  SessionsTest() {
    created_root_ = **stack_.service->EnsureRootKey(Actor{"test", ""});
    root_ = created_root_.secret;
    ws_ = Json::parse(Send(http::verb::post, "/v1/workspaces",
                           R"({"name":"Acme","max_active_keys":3})",
                           {{"Authorization", "Bearer " + root_}})
                          .response.body)["id"];
    other_ws_ = Json::parse(Send(http::verb::post, "/v1/workspaces", R"({"name":"Other"})",
                                 {{"Authorization", "Bearer " + root_}})
                                .response.body)["id"];
  }

  ApiReply Send(http::verb method, const std::string& target, const std::string& body,
                const Headers& headers) {
    HttpRequest req{method, target, 11};
    for (const auto& [k, v] : headers) req.insert(k, v);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return stack_.api->Handle(req, "127.0.0.1");
  }
  ApiReply AsRoot(http::verb method, const std::string& target, const std::string& body = "") {
    return Send(method, target, body, {{"Authorization", "Bearer " + root_}});
  }

  // A portal link's code, from POST /v1/portal-sessions with body.
  std::string PortalCode(const std::string& body) {
    ApiReply r = AsRoot(http::verb::post, "/v1/portal-sessions", body);
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    const std::string url = Json::parse(r.response.body)["url"];
    return url.substr(url.find("code=") + 5);
  }

  // Opens the link; the session token from its cookie ("" when refused).
  std::string Open(const std::string& code, int* status = nullptr) {
    ApiReply r = Send(http::verb::get, "/portal?code=" + code, "", {});
    if (status) *status = r.response.status;
    const std::string cookie(r.response.Get("Set-Cookie"));
    if (cookie.empty()) return "";
    return cookie.substr(cookie.find('=') + 1, cookie.find(';') - cookie.find('=') - 1);
  }

  // A page's request with its session: header, cookie and, for changes,
  // Origin and the CSRF token.
  ApiReply Page(const std::string& kind, const std::string& token, http::verb method,
                const std::string& target, const std::string& body = "", Headers extra = {}) {
    Headers h = {{"X-Keyward-Session", kind}, {"Cookie", "other=1; kw_" + kind + "=" + token}};
    if (method != http::verb::get) {
      h.push_back({"Origin", kOrigin});
      h.push_back({"X-CSRF-Token", WebSessions::CsrfToken(token)});
    }
    for (auto& e : extra) h.push_back(e);
    return Send(method, target, body, h);
  }

  std::string CreateBody(const std::string& ws) {
    return R"({"workspace_id":")" + ws + R"(","environment":"live","name":"k"})";
  }

  keyward::testing::TempDir dir_;
  ManualClock clock_;
  keyward::testing::ApiStack stack_{dir_.path().string(), &clock_, {"live", "test"}, [](Config* c) {
                                      c->portal_code_ttl_seconds = 600;
                                      c->portal_session_ttl_seconds = 3600;
                                    }};
  CreatedRootKey created_root_;
  std::string root_;
  std::string ws_, other_ws_;
};

TEST_F(SessionsTest, ALinkOpensOnceAndItsSessionEndsOnTime) {
  const std::string code = PortalCode(R"({"workspace_id":")" + ws_ +
                                      R"(","return_url":"https://app.example.com/keys"})");
  int status = 0;
  const std::string token = Open(code, &status);
  EXPECT_EQ(status, 303);
  ASSERT_TRUE(WebSessions::LooksLikeToken(token)) << token;
  ApiReply again = Send(http::verb::get, "/portal?code=" + code, "", {});
  EXPECT_EQ(again.response.status, 410);
  EXPECT_NE(again.response.body.find("href=\"https://app.example.com/keys\""), std::string::npos);
  EXPECT_TRUE(again.response.Get("Set-Cookie").empty());

  ApiReply session = Page("portal", token, http::verb::get, "/v1/session");
  ASSERT_EQ(session.response.status, 200) << session.response.body;
  EXPECT_EQ(Json::parse(session.response.body)["workspace"]["id"], ws_);
  clock_.Advance(3600 * 1000);
  ApiReply expired = Page("portal", token, http::verb::get, "/v1/api-keys");
  EXPECT_EQ(expired.response.status, 401);
  const Json body = Json::parse(expired.response.body);
  EXPECT_EQ(body["error"], "session_expired");
  EXPECT_EQ(body["return_url"], "https://app.example.com/keys");
}

TEST_F(SessionsTest, AnUnopenedLinkExpires) {
  const std::string code = PortalCode(R"({"workspace_id":")" + ws_ + R"("})");
  clock_.Advance(600 * 1000);
  int status = 0;
  EXPECT_EQ(Open(code, &status), "");
  EXPECT_EQ(status, 410);
  EXPECT_EQ(Open("kw_code_" + std::string(40, 'A'), &status), "");
  EXPECT_EQ(status, 404);
}

TEST_F(SessionsTest, ACookieCountsOnlyWithItsSessionHeaderAndChangesNeedOriginAndCsrf) {
  const std::string token = Open(PortalCode(R"({"workspace_id":")" + ws_ + R"("})"));
  // No X-Keyward-Session: the cookie is no credential.
  EXPECT_EQ(
      Send(http::verb::get, "/v1/api-keys", "", {{"Cookie", "kw_portal=" + token}}).response.status,
      401);
  // A session and a key at once is refused.
  EXPECT_EQ(Page("portal", token, http::verb::get, "/v1/api-keys", "",
                 {{"Authorization", "Bearer " + root_}})
                .response.status,
            400);
  auto create = [&](Headers h) {
    h.push_back({"X-Keyward-Session", "portal"});
    h.push_back({"Cookie", "kw_portal=" + token});
    return Send(http::verb::post, "/v1/api-keys", CreateBody(ws_), h).response.status;
  };
  const std::string csrf = WebSessions::CsrfToken(token);
  EXPECT_EQ(create({{"X-CSRF-Token", csrf}}), 403);  // no Origin
  EXPECT_EQ(create({{"Origin", "https://evil.example"}, {"X-CSRF-Token", csrf}}), 403);
  EXPECT_EQ(create({{"Origin", kOrigin}}), 403);  // no CSRF token
  EXPECT_EQ(create({{"Origin", kOrigin}, {"X-CSRF-Token", csrf.substr(1) + "0"}}), 403);
  EXPECT_EQ(create({{"Origin", kOrigin}, {"X-CSRF-Token", csrf}, {"Sec-Fetch-Site", "cross-site"}}),
            403);
  EXPECT_EQ(stack_.service->CountActiveKeys(ws_).value(), 0);
  EXPECT_EQ(
      create({{"Origin", kOrigin}, {"X-CSRF-Token", csrf}, {"Sec-Fetch-Site", "same-origin"}}),
      201);
  // Audited as the portal session, from the client's address.
  auto audit = AsRoot(http::verb::get, "/v1/audit-log?action=key.create");
  const Json entries = Json::parse(audit.response.body)["data"];
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["actor"].get<std::string>().rfind("portal:ps_", 0), 0u);
  EXPECT_EQ(entries[0]["ip"], "127.0.0.1");
}

TEST_F(SessionsTest, PermissionsOpenRoutesAndTheWorkspaceBoundsThem) {
  ApiReply other_key = AsRoot(http::verb::post, "/v1/api-keys", CreateBody(other_ws_));
  const std::string other_id = Json::parse(other_key.response.body)["id"];
  const std::string token =
      Open(PortalCode(R"({"workspace_id":")" + ws_ + R"(","permissions":["keys:read"]})"));
  EXPECT_EQ(Page("portal", token, http::verb::get, "/v1/api-keys").response.status, 200);
  EXPECT_EQ(Page("portal", token, http::verb::get, "/v1/workspaces/" + ws_).response.status, 200);
  EXPECT_EQ(Page("portal", token, http::verb::get, "/v1/workspaces/" + other_ws_).response.status,
            404);
  EXPECT_EQ(Page("portal", token, http::verb::get, "/v1/api-keys/" + other_id).response.status,
            404);
  for (const auto& [method, target] : std::vector<std::pair<http::verb, std::string>>{
           {http::verb::post, "/v1/api-keys"},
           {http::verb::get, "/v1/usage?workspace_id=" + ws_},
           {http::verb::get, "/v1/audit-log"},
           {http::verb::get, "/v1/workspaces"},
           {http::verb::post, "/v1/portal-sessions"},
           {http::verb::patch, "/v1/api-keys/" + other_id}}) {
    ApiReply r = Page("portal", token, method, target, "{}");
    EXPECT_EQ(r.response.status, 403) << target << " " << r.response.body;
  }
  // Another workspace's key cannot be revoked either, with every permission.
  const std::string all = Open(PortalCode(R"({"workspace_id":")" + ws_ + R"("})"));
  EXPECT_EQ(Page("portal", all, http::verb::delete_, "/v1/api-keys/" + other_id).response.status,
            404);
  EXPECT_EQ(
      Page("portal", all, http::verb::post, "/v1/api-keys", CreateBody(other_ws_)).response.status,
      404);
}

TEST_F(SessionsTest, AConsoleSessionActsAsItsRootKeyUntilTheKeyIsRevoked) {
  // Sign-in needs this deployment's Origin.
  EXPECT_EQ(Send(http::verb::post, "/v1/console-sessions", "",
                 {{"Authorization", "Bearer " + root_}, {"Origin", "https://evil.example"}})
                .response.status,
            403);
  ApiReply in = Send(http::verb::post, "/v1/console-sessions", "",
                     {{"Authorization", "Bearer " + root_}, {"Origin", kOrigin}});
  ASSERT_EQ(in.response.status, 201) << in.response.body;
  const std::string cookie(in.response.Get("Set-Cookie"));
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string token =
      cookie.substr(cookie.find('=') + 1, cookie.find(';') - cookie.find('=') - 1);
  EXPECT_EQ(Page("console", token, http::verb::get, "/v1/workspaces?q=acme").response.status, 200);
  // A portal cookie is not a console one.
  EXPECT_EQ(Page("portal", token, http::verb::get, "/v1/session").response.status, 401);
  // A portal opened from the console acts as the root key.
  ApiReply ps = Page("console", token, http::verb::post, "/v1/portal-sessions",
                     R"({"workspace_id":")" + ws_ + R"("})");
  ASSERT_EQ(ps.response.status, 201) << ps.response.body;
  EXPECT_EQ(Json::parse(ps.response.body)["actor"], created_root_.record.id);
  ASSERT_TRUE(stack_.service->RevokeRootKey(created_root_.record.id, Actor{"test", ""}).ok());
  ApiReply after = Page("console", token, http::verb::get, "/v1/workspaces");
  EXPECT_EQ(after.response.status, 401);
  EXPECT_EQ(Json::parse(after.response.body)["error"], "session_expired");
}

TEST_F(SessionsTest, SignOutEndsTheSession) {
  const std::string token = Open(PortalCode(R"({"workspace_id":")" + ws_ + R"("})"));
  ApiReply out = Page("portal", token, http::verb::delete_, "/v1/session");
  EXPECT_EQ(out.response.status, 204);
  EXPECT_NE(out.response.Get("Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Page("portal", token, http::verb::get, "/v1/session").response.status, 401);
}

}  // namespace
}  // namespace keyward
