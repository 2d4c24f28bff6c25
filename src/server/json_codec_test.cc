#include "server/json_codec.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

TEST(JsonCodecTest, ParsesObjectsOnly) {
  EXPECT_TRUE(ParseJsonObject(R"({"a":1})", false).ok());
  EXPECT_TRUE(ParseJsonObject("", true).ok());
  EXPECT_EQ(ParseJsonObject("", false).status().code(), Code::kInvalidJson);
  EXPECT_EQ(ParseJsonObject("[1]", false).status().code(), Code::kInvalidJson);
  EXPECT_EQ(ParseJsonObject("{", false).status().code(), Code::kInvalidJson);
  EXPECT_EQ(ParseJsonObject("{\"a\":\"\xff\"}", false).status().code(), Code::kInvalidJson);
}

TEST(JsonCodecTest, RefusesDeepNestingBeforeParsing) {
  std::string deep(100000, '[');
  EXPECT_EQ(ParseJsonObject("{\"a\":" + deep, false).status().code(), Code::kInvalidJson);
  std::string ok = "{\"a\":" + std::string(30, '[') + std::string(30, ']') + "}";
  EXPECT_TRUE(ParseJsonObject(ok, false).ok());
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseJsonObject("{\"a\":\"" + std::string(100, '[') + "\"}", false).ok());
}

// Found by the hostile-client suite: the parser took a NUL for the end of
// the input, so `{"name":"ab"}\0garbage` created a workspace.
TEST(JsonCodecTest, RefusesNulBytesAnywhere) {
  using namespace std::string_literals;
  EXPECT_EQ(ParseJsonObject("{\"name\":\"ab\"}\0garbage{{{"s, false).status().code(),
            Code::kInvalidJson);
  EXPECT_EQ(ParseJsonObject("{\"name\":\"a\0b\"}"s, false).status().code(), Code::kInvalidJson);
  EXPECT_EQ(ParseJsonObject("\0"s, true).status().code(), Code::kInvalidJson);
}

// Escaped (\u0000) it is valid JSON, but no field may hold it: not a name,
// not a string deep in meta, not a member name. Nothing echoes the text.
TEST(JsonCodecTest, RefusesEscapedNulInAnyStringOrMemberName) {
  for (const char* body :
       {R"({"name":"a\u0000b"})", R"({"meta":{"a":"\u0000"}})",
        R"({"meta":{"a":[1,{"b":["x","y\u0000"]}]}})", R"({"meta":{"a\u0000":1}})"}) {
    auto r = ParseJsonObject(body, false);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kInvalidRequest) << body;
    EXPECT_NE(r.status().message().find("NUL"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(
      ParseJsonObject(R"({"meta":{"x":"\u0000"}})", false).status().message().rfind("meta", 0), 0u);
  EXPECT_EQ(ParseJsonObject(R"({"\u0000":1})", false).status().message().rfind("a field", 0), 0u);
  EXPECT_TRUE(ParseJsonObject(R"({"meta":{"a":"\u0001 \\u0000"}})", false).ok());
}

TEST(JsonCodecTest, FieldReaderIsStrict) {
  Json j = Json::parse(R"({"name":"x","limit":5,"big":1e3,"list":["a",1],"rl":{"limit":1}})");
  FieldReader f(j);
  EXPECT_FALSE(f.OnlyFields({"name"}).ok());
  EXPECT_TRUE(f.OnlyFields({"name", "limit", "big", "list", "rl"}).ok());
  std::optional<int64_t> n;
  EXPECT_TRUE(f.Int("limit", 1, 10, &n).ok());
  EXPECT_EQ(n, 5);
  EXPECT_FALSE(f.Int("limit", 6, 10, &n).ok());
  EXPECT_FALSE(f.Int("big", 0, 10000, &n).ok());  // a float is not an integer
  std::optional<std::vector<std::string>> list;
  EXPECT_FALSE(f.StringList("list", &list).ok());
  std::optional<std::optional<RateLimit>> rl;
  EXPECT_FALSE(f.NullableRateLimit("rl", &rl).ok());
  std::string name;
  EXPECT_FALSE(f.RequiredString("missing", &name).ok());
}

TEST(JsonCodecTest, DumpSurvivesInvalidUtf8) {
  Json j = {{"x", std::string("\xff\xfe")}};
  EXPECT_NO_THROW(Dump(j));
}

}  // namespace
}  // namespace keyward
