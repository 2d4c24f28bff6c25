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

}  // namespace
}  // namespace keyward
