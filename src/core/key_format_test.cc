#include "core/key_format.h"

#include <gtest/gtest.h>

#include <set>

#include "core/base62.h"

namespace keyward {
namespace {

KeyFormat Format() { return std::move(KeyFormat::Create("asa", {"live", "test"})).value(); }

TEST(KeyFormatTest, GeneratedKeysParseAndAreDistinct) {
  const KeyFormat f = Format();
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    const std::string key = f.Generate(i % 2 ? "live" : "test");
    ParsedKey parsed;
    ASSERT_EQ(f.Parse(key, &parsed), KeyParseError::kNone) << key;
    EXPECT_EQ(parsed.environment, i % 2 ? "live" : "test");
    EXPECT_EQ(parsed.short_prefix, key.substr(0, (i % 2 ? 9 : 9) + kShortPrefixBodyChars));
    EXPECT_TRUE(seen.insert(key).second) << "duplicate key";
  }
}

TEST(KeyFormatTest, ShapeIsPrefixThenFortyBase62) {
  const KeyFormat f = Format();
  const std::string key = f.Generate("live");
  ASSERT_EQ(key.rfind("asa_live_", 0), 0u);
  ASSERT_EQ(key.size(), 9 + kKeyBodyChars);
  for (char c : key.substr(9)) EXPECT_TRUE(IsBase62(c));
}

TEST(KeyFormatTest, EverySingleCharacterChangeFails) {
  const KeyFormat f = Format();
  for (int round = 0; round < 20; ++round) {
    const std::string key = f.Generate("live");
    for (size_t i = 0; i < key.size(); ++i) {
      for (char c : std::string(kBase62Alphabet) + "_-") {
        if (c == key[i]) continue;
        std::string changed = key;
        changed[i] = c;
        EXPECT_NE(f.Parse(changed, nullptr), KeyParseError::kNone) << changed;
      }
    }
  }
}

TEST(KeyFormatTest, BodyChangesAreCaughtByTheChecksum) {
  const KeyFormat f = Format();
  const std::string key = f.Generate("test");
  std::string changed = key;
  changed[12] = changed[12] == 'a' ? 'b' : 'a';
  EXPECT_EQ(f.Parse(changed, nullptr), KeyParseError::kBadChecksum);
  // Swapping the environment keeps the shape but breaks the checksum: a test
  // key cannot be turned into a live one by editing its prefix.
  std::string swapped = "asa_live_" + key.substr(9);
  EXPECT_EQ(f.Parse(swapped, nullptr), KeyParseError::kBadChecksum);
}

TEST(KeyFormatTest, DistinctReasons) {
  const KeyFormat f = Format();
  const std::string key = f.Generate("live");
  const std::string body = key.substr(9);
  EXPECT_EQ(f.Parse("sk_live_" + body, nullptr), KeyParseError::kUnknownProduct);
  EXPECT_EQ(f.Parse("asalive" + body, nullptr), KeyParseError::kUnknownProduct);
  EXPECT_EQ(f.Parse("asa_prod_" + body, nullptr), KeyParseError::kUnknownEnvironment);
  EXPECT_EQ(f.Parse("asa_live", nullptr), KeyParseError::kUnknownEnvironment);
  EXPECT_EQ(f.Parse(key + "x", nullptr), KeyParseError::kWrongLength);
  EXPECT_EQ(f.Parse(key.substr(0, key.size() - 1), nullptr), KeyParseError::kWrongLength);
  std::string bad = key;
  bad[20] = '!';
  EXPECT_EQ(f.Parse(bad, nullptr), KeyParseError::kBadCharacter);
  bad[20] = '\0';
  EXPECT_EQ(f.Parse(bad, nullptr), KeyParseError::kBadCharacter);
}

// Every byte value in every body position: the shape check refuses exactly
// the bytes outside the base62 alphabet, and the deferred parse refuses the
// same keys as Parse once the checksum is checked.
TEST(KeyFormatTest, EveryByteInTheBodyIsJudgedAsTheAlphabetSays) {
  const KeyFormat f = Format();
  const std::string key = f.Generate("live");
  for (size_t i = 9; i < key.size(); ++i) {
    for (int b = 0; b < 256; ++b) {
      std::string changed = key;
      changed[i] = static_cast<char>(b);
      ParsedKey deferred;
      const KeyParseError shape = f.ParseDeferringChecksum(changed, &deferred);
      ASSERT_EQ(shape == KeyParseError::kBadCharacter, !IsBase62(changed[i])) << i << " " << b;
      const bool deferred_ok = shape == KeyParseError::kNone && f.ChecksumHolds(changed);
      ASSERT_EQ(deferred_ok, f.Parse(changed, nullptr) == KeyParseError::kNone) << i << " " << b;
      ASSERT_EQ(deferred_ok, changed == key) << i << " " << b;
    }
  }
}

TEST(KeyFormatTest, ChecksumKnownAnswer) {
  // CRC32 of the text before the checksum, as 6 base62 digits.
  const std::string head = "asa_live_0000000000000000000000000000000000";
  EXPECT_EQ(KeyChecksum(head), EncodeBase62Fixed(Crc32(head), 6));
  EXPECT_EQ(KeyChecksum("123456789"), "3jZRME");
  const KeyFormat f = Format();
  EXPECT_EQ(f.Parse(head + KeyChecksum(head), nullptr), KeyParseError::kNone);
}

TEST(KeyFormatTest, CreateValidatesNames) {
  EXPECT_TRUE(KeyFormat::Create("sk", {"live", "sandbox"}).ok());
  EXPECT_TRUE(KeyFormat::Create("amsr", {"live", "test"}).ok());
  EXPECT_FALSE(KeyFormat::Create("", {"live"}).ok());
  EXPECT_FALSE(KeyFormat::Create("s_k", {"live"}).ok());
  EXPECT_FALSE(KeyFormat::Create("SK", {"live"}).ok());
  EXPECT_FALSE(KeyFormat::Create("sk", {}).ok());
  EXPECT_FALSE(KeyFormat::Create("sk", {"live", "live"}).ok());
  EXPECT_FALSE(KeyFormat::Create("sk", {"li-ve"}).ok());
  EXPECT_FALSE(KeyFormat::Create("sk", {"1live"}).ok());
}

TEST(KeyFormatTest, SeedPrefixes) {
  for (const auto& [product, env] :
       std::vector<std::pair<std::string, std::string>>{{"amsr", "live"},
                                                        {"amsr", "test"},
                                                        {"sk", "sandbox"},
                                                        {"sk", "live"},
                                                        {"asa", "live"}}) {
    auto f = KeyFormat::Create(product, {env});
    ASSERT_TRUE(f.ok());
    const std::string key = f->Generate(env);
    EXPECT_EQ(key.rfind(product + "_" + env + "_", 0), 0u);
    EXPECT_EQ(f->Parse(key, nullptr), KeyParseError::kNone);
  }
}

}  // namespace
}  // namespace keyward
