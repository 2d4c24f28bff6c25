#include "server/router.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

TEST(RouterTest, MatchesTemplatesAndCapturesParams) {
  Router r;
  const int list = r.Add("GET", "/v1/api-keys");
  const int get = r.Add("GET", "/v1/api-keys/{id}");
  const int rotate = r.Add("POST", "/v1/api-keys/{id}/rotate");
  auto m = r.Find("GET", "/v1/api-keys/key_123");
  EXPECT_EQ(m.route, get);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], "key_123");
  EXPECT_EQ(r.Find("GET", "/v1/api-keys").route, list);
  EXPECT_EQ(r.Find("POST", "/v1/api-keys/k/rotate").route, rotate);
  EXPECT_EQ(r.Find("GET", "/v1/api-keys/").route, -1);  // an empty id is no id
  EXPECT_EQ(r.Find("GET", "/v1/api-keys/a/b").route, -1);
  EXPECT_FALSE(r.Find("GET", "/v2/x").path_known);
}

TEST(RouterTest, KnownPathWithOtherMethodListsAllowed) {
  Router r;
  r.Add("GET", "/v1/api-keys/{id}");
  r.Add("PATCH", "/v1/api-keys/{id}");
  r.Add("DELETE", "/v1/api-keys/{id}");
  auto m = r.Find("PUT", "/v1/api-keys/x");
  EXPECT_EQ(m.route, -1);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, PATCH, DELETE");
}

TEST(RouterTest, RestParamTakesTheRest) {
  Router r;
  const int any = r.Add("*", "/v1/auth/{path*}");
  auto m = r.Find("POST", "/v1/auth/v1/products/1");
  EXPECT_EQ(m.route, any);
  EXPECT_EQ(m.params[0], "v1/products/1");
}

// Routes are looked up by their first two segments; a route with a
// parameter there is a candidate for every path, added before or after the
// others. The first match in the order routes were added wins, and Allow
// lists methods in that order, as a walk through every route gives.
TEST(RouterTest, BucketsKeepTheOrderRoutesWereAddedIn) {
  Router r;
  const int early_wild = r.Add("GET", "/v1/{anything}");
  const int auth = r.Add("*", "/v1/auth");
  const int auth_path = r.Add("*", "/v1/auth/{path*}");
  const int health = r.Add("GET", "/healthz");
  const int late_wild = r.Add("DELETE", "/{a}/auth");
  const int page = r.Add("GET", "/portal/{id}");
  auto m = r.Find("GET", "/v1/auth");
  EXPECT_EQ(m.route, early_wild);
  EXPECT_EQ(m.allow, "GET, *, DELETE");
  EXPECT_EQ(r.Find("POST", "/v1/auth").route, auth);
  EXPECT_EQ(r.Find("DELETE", "/v1/auth").route, auth);  // "*" came first
  EXPECT_EQ(r.Find("POST", "/v1/auth/x/y").route, auth_path);
  EXPECT_EQ(r.Find("GET", "/healthz").route, health);
  EXPECT_EQ(r.Find("DELETE", "/x/auth").route, late_wild);  // a bucket no route was added to
  EXPECT_EQ(r.Find("GET", "/portal/abc").route, page);
  EXPECT_EQ(r.Find("GET", "/v1/other").route, early_wild);
  EXPECT_EQ(r.Find("GET", "/healthz/x").route, -1);
  EXPECT_FALSE(r.Find("GET", "/nothing/here/at/all").path_known);
  EXPECT_FALSE(r.Find("GET", "").path_known);
  EXPECT_FALSE(r.Find("GET", "http://host/v1/auth").path_known);
}

}  // namespace
}  // namespace keyward
