#include "core/legacy_format.h"

#include <gtest/gtest.h>

#include "core/key_format.h"

namespace keyward {
namespace {

const std::vector<std::string> kEnvs = {"live", "test"};

LegacyFormat Make(const std::string& pattern, const std::string& env, int spl = 8) {
  auto f = LegacyFormat::Create({pattern, env, spl}, kEnvs);
  EXPECT_TRUE(f.ok()) << f.status().message();
  return std::move(f).value();
}

TEST(LegacyFormatTest, AmserKeysTakeTheirEnvironmentFromTheCapture) {
  const auto f = Make("^amsr_(live|test)_[A-Za-z0-9]{21}$", "$1", 12);
  std::string_view env;
  std::string_view prefix;
  ASSERT_TRUE(f.Match("amsr_live_k3m7x9p2q4r8s1t5v0w6y", &env, &prefix));
  EXPECT_EQ(env, "live");
  EXPECT_EQ(prefix, "amsr_live_k3m7x9p2q4r8");
  ASSERT_TRUE(f.Match("amsr_test_a1b2c3d4e5f6g7h8i9j0k", &env, &prefix));
  EXPECT_EQ(env, "test");
  EXPECT_EQ(prefix, "amsr_test_a1b2c3d4e5f6");
}

TEST(LegacyFormatTest, MatchesOnlyTheWholeKey) {
  const auto f = Make("^amsr_(live|test)_[A-Za-z0-9]{21}$", "$1");
  std::string_view env;
  std::string_view prefix;
  EXPECT_FALSE(f.Match("amsr_live_k3m7x9p2q4r8s1t5v0w6", &env, &prefix));    // 20
  EXPECT_FALSE(f.Match("amsr_live_k3m7x9p2q4r8s1t5v0w6yz", &env, &prefix));  // 22
  EXPECT_FALSE(f.Match("xamsr_live_k3m7x9p2q4r8s1t5v0w6y", &env, &prefix));
  EXPECT_FALSE(f.Match("amsr_prod_k3m7x9p2q4r8s1t5v0w6y", &env, &prefix));
  EXPECT_FALSE(f.Match("amsr_live_k3m7x9p2q4r8s1t5v0w6\n", &env, &prefix));
  EXPECT_FALSE(f.Match(std::string_view("amsr_live_k3m7x9p2q4r8s1t5v0w6y\0", 32), &env, &prefix));
}

TEST(LegacyFormatTest, ACapturedEnvironmentMustBeOneOfTheDeployments) {
  // The pattern allows "prod", which the deployment does not have.
  const auto f = Make("^amsr_([a-z]+)_[a-z0-9]{21}$", "$1");
  std::string_view env;
  std::string_view prefix;
  EXPECT_TRUE(f.Match("amsr_live_k3m7x9p2q4r8s1t5v0w6y", &env, &prefix));
  EXPECT_FALSE(f.Match("amsr_prod_k3m7x9p2q4r8s1t5v0w6y", &env, &prefix));
}

TEST(LegacyFormatTest, AFixedEnvironmentAndTheLiteralPrefix) {
  const auto f = Make("^sk_[a-f0-9]{32}$", "live", 4);
  std::string_view env;
  std::string_view prefix;
  ASSERT_TRUE(f.Match("sk_0123456789abcdef0123456789abcdef", &env, &prefix));
  EXPECT_EQ(env, "live");
  EXPECT_EQ(prefix, "sk_0123");
  // No literal prefix at all: the short prefix is the first characters.
  const auto bare = Make("^[a-f0-9]{32}$", "test", 6);
  ASSERT_TRUE(bare.Match("0123456789abcdef0123456789abcdef", &env, &prefix));
  EXPECT_EQ(env, "test");
  EXPECT_EQ(prefix, "012345");
}

TEST(LegacyFormatTest, TheShortPrefixNeverShowsEnoughToGuessTheRest) {
  std::string_view env;
  std::string_view prefix;
  // Asked for all 21: 8 stay hidden.
  const auto wide = Make("^amsr_(live|test)_[A-Za-z0-9]{21}$", "$1", 32);
  ASSERT_TRUE(wide.Match("amsr_live_k3m7x9p2q4r8s1t5v0w6y", &env, &prefix));
  EXPECT_EQ(prefix, "amsr_live_k3m7x9p2q4r8s");
  // Ten digits: the default 8 would leave 100 guesses; 2 are shown.
  const auto digits = Make("^tok_[0-9]{10}$", "live");
  ASSERT_TRUE(digits.Match("tok_1234567890", &env, &prefix));
  EXPECT_EQ(prefix, "tok_12");
  // A third of a long body stays hidden too.
  const auto hex = Make("^[a-f0-9]{60}$", "live", 32);
  ASSERT_TRUE(hex.Match(std::string(60, 'a'), &env, &prefix));
  EXPECT_EQ(prefix.size(), 32u);
  const auto hex30 = Make("^[a-f0-9]{30}$", "live", 32);
  ASSERT_TRUE(hex30.Match(std::string(30, 'a'), &env, &prefix));
  EXPECT_EQ(prefix.size(), 20u);
}

TEST(LegacyFormatTest, RefusesWhatCannotDescribeAKey) {
  auto refused = [](const std::string& pattern, const std::string& env, int spl = 8) {
    auto f = LegacyFormat::Create({pattern, env, spl}, kEnvs);
    EXPECT_FALSE(f.ok()) << pattern;
    return f.ok() ? std::string() : f.status().message();
  };
  EXPECT_NE(refused("amsr_(live|test)_[a-z]{21}$", "$1").find("anchored"), std::string::npos);
  EXPECT_NE(refused("^amsr_(live|test)_[a-z]{21}", "$1").find("anchored"), std::string::npos);
  EXPECT_NE(refused("^amsr_[a-z]{21}\\$", "live").find("anchored"), std::string::npos);
  EXPECT_NE(refused("^amsr_(live|test_[a-z]{21}$", "$1").find("does not compile"),
            std::string::npos);
  EXPECT_NE(refused("^[a-z]*$", "live").find("empty string"), std::string::npos);
  EXPECT_NE(refused("^amsr_(live|test)_[a-z]{21}$", "$2").find("capture group 2"),
            std::string::npos);
  EXPECT_NE(refused("^amsr_[a-z]{21}$", "prod").find("keys.environments"), std::string::npos);
  EXPECT_NE(refused("^amsr_[a-z]{21}$", "$x").find("$1"), std::string::npos);
  EXPECT_NE(refused("^amsr_[a-z]{21}$", "live", 33).find("short_prefix_length"), std::string::npos);
  EXPECT_NE(refused("^amsr_live_[a-z]{21}$|^amsr_test_[a-z]{21}$", "live").find("^(?:a|b)$"),
            std::string::npos);
  EXPECT_NE(refused("^amsr_live_fixedfixedfixed$", "live").find("one string"), std::string::npos);
  // Anchors inside a class or escaped are characters, not anchors.
  EXPECT_TRUE(LegacyFormat::Create({"^tok_[$^a-z]{21}\\^$", "live", 8}, kEnvs).ok());
  EXPECT_TRUE(
      LegacyFormat::Create({"^(?:amsr_live_[a-z]{21}|amsr_test_[a-z]{21})$", "live", 8}, kEnvs)
          .ok());
  // Backreferences need backtracking, which RE2 does not do.
  EXPECT_NE(refused("^(a+)\\1$", "live").find("does not compile"), std::string::npos);
}

TEST(LegacyFormatTest, ATorturePatternStaysLinear) {
  // (a|a)*b backtracks exponentially in std::regex; RE2 answers at once.
  const auto f = Make("^(a|aa)*c(live)$", "$2");
  std::string_view env;
  std::string_view prefix;
  EXPECT_FALSE(f.Match(std::string(100000, 'a'), &env, &prefix));
}

TEST(LegacyFormatTest, FindsAKeyInsideText) {
  const auto f = Make("^amsr_(live|test)_[A-Za-z0-9]{21}$", "$1");
  size_t length = 0;
  const std::string text = "name: my amsr_live_k3m7x9p2q4r8s1t5v0w6y key";
  const size_t at = f.Find(text, &length);
  ASSERT_NE(at, std::string_view::npos);
  EXPECT_EQ(text.substr(at, length), "amsr_live_k3m7x9p2q4r8s1t5v0w6y");
  EXPECT_EQ(f.Find("nothing here amsr_live_short", &length), std::string_view::npos);
  // Only between characters that could not continue a key.
  EXPECT_EQ(f.Find("xamsr_live_k3m7x9p2q4r8s1t5v0w6y", &length), std::string_view::npos);
  EXPECT_EQ(f.Find("amsr_live_k3m7x9p2q4r8s1t5v0w6yy", &length), std::string_view::npos);
  EXPECT_EQ(f.Find("\"amsr_live_k3m7x9p2q4r8s1t5v0w6y\"", &length), 1u);
  // A shape with no literal prefix is not found inside an id.
  const auto bare = Make("^[A-Za-z0-9]{20}$", "live");
  EXPECT_EQ(bare.Find("no workspace ws_3Ozyt6gRgNHAIPByT33f here", &length),
            std::string_view::npos);
  EXPECT_EQ(bare.Find("key=3Ozyt6gRgNHAIPByT33f&x=1", &length), 4u);
}

TEST(KeyFormatLegacyTest, OwnKeysFirstThenLegacyShapes) {
  auto format =
      KeyFormat::Create("amsr", kEnvs, {{"^amsr_(live|test)_[A-Za-z0-9]{21}$", "$1", 12}});
  ASSERT_TRUE(format.ok()) << format.status().message();
  ParsedKey parsed;
  const std::string native = format->Generate("live");
  ASSERT_EQ(format->Parse(native, &parsed), KeyParseError::kNone);
  EXPECT_FALSE(parsed.legacy);
  ParsedKey legacy;
  ASSERT_EQ(format->Parse("amsr_test_a1b2c3d4e5f6g7h8i9j0k", &legacy), KeyParseError::kNone);
  EXPECT_TRUE(legacy.legacy);
  EXPECT_EQ(legacy.environment, "test");
  // Neither shape: the reason is the one of the deployment's own format.
  EXPECT_EQ(format->Parse("amsr_test_a1b2c3", nullptr), KeyParseError::kWrongLength);
  EXPECT_EQ(format->Parse("zzz", nullptr), KeyParseError::kUnknownProduct);
  // A native key with its checksum broken is not rescued by the legacy shape.
  std::string broken = native;
  broken[20] = broken[20] == 'a' ? 'b' : 'a';
  EXPECT_EQ(format->Parse(broken, nullptr), KeyParseError::kBadChecksum);
}

TEST(KeyFormatLegacyTest, FindKeyInSeesLegacyKeys) {
  auto format = KeyFormat::Create("asa", kEnvs, {{"^amsr_(live|test)_[a-z0-9]{21}$", "$1", 12}});
  ASSERT_TRUE(format.ok());
  auto found = format->FindKeyIn("my key is amsr_live_k3m7x9p2q4r8s1t5v0w6y, keep it");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, "amsr_live_k3m7x9p2q4r8");
  EXPECT_FALSE(format->FindKeyIn("amsr_live_ is the prefix").has_value());
  auto bad = KeyFormat::Create("asa", kEnvs, {{"amsr_[a-z]{21}", "live", 12}});
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace keyward
