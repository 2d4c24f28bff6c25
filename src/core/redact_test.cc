#include "core/redact.h"

#include <gtest/gtest.h>

#include "core/key_format.h"

namespace keyward {
namespace {

TEST(RedactTest, KeysBecomeTheirShortPrefix) {
  const KeyFormat format = std::move(KeyFormat::Create("sk", {"live"})).value();
  const std::string key = format.Generate("live");
  ParsedKey parsed;
  ASSERT_EQ(format.Parse(key, &parsed), KeyParseError::kNone);
  const std::string text = "unknown field \"" + key + "\"; expected: name";
  const std::string redacted = RedactSecrets(text);
  EXPECT_EQ(redacted,
            "unknown field \"" + std::string(parsed.short_prefix) + "…\"; expected: name");
  EXPECT_EQ(redacted.find(key.substr(20)), std::string::npos);
  EXPECT_TRUE(HasSecretShape(text));
}

TEST(RedactTest, EveryLongRunIsCutAndShortTextIsKept) {
  const std::string body(40, 'a');
  EXPECT_EQ(RedactSecrets("x" + body + "-" + body),
            "x" + std::string(11, 'a') + "…-" + std::string(12, 'a') + "…");
  // Ids, names and messages keyward echoes are shorter.
  const std::string plain =
      "no API key key_0J88fQfiaDxSacrlWIzY in workspace ws_3Ozyt6gRgNHAIPByT33f";
  EXPECT_FALSE(HasSecretShape(plain));
  EXPECT_EQ(RedactSecrets(plain), plain);
  EXPECT_EQ(RedactSecrets(std::string(31, 'Z')), std::string(31, 'Z'));
  EXPECT_EQ(RedactSecrets(std::string(32, 'Z')), std::string(12, 'Z') + "…");
  EXPECT_EQ(RedactSecrets(""), "");
}

TEST(RedactTest, KeysOfRegisteredLegacyShapesAreCutToTheirShortPrefix) {
  const std::string key = "amsr_live_k3m7x9p2q4r8s1t5v0w6y";
  const std::string text = "GET /v1/x?api_key=" + key + " from 10.0.0.1";
  // 21 characters: too short for the long-run rule alone.
  EXPECT_EQ(RedactSecrets(text), text);
  auto f = LegacyFormat::Create({"^amsr_(live|test)_[a-z0-9]{21}$", "$1", 6}, {"live", "test"});
  ASSERT_TRUE(f.ok());
  RedactLegacyKeys({*f});
  EXPECT_TRUE(HasSecretShape(text));
  EXPECT_EQ(RedactSecrets(text), "GET /v1/x?api_key=amsr_live_k3m7x9… from 10.0.0.1");
  EXPECT_EQ(RedactSecrets(key + "," + key), "amsr_live_k3m7x9…,amsr_live_k3m7x9…");
  // Registering again adds nothing; other text is untouched.
  RedactLegacyKeys({*f});
  EXPECT_EQ(RedactSecrets("amsr_live_ only"), "amsr_live_ only");
}

}  // namespace
}  // namespace keyward
