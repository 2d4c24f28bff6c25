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

}  // namespace
}  // namespace keyward
