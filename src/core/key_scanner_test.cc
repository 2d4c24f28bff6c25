#include "core/key_scanner.h"

#include <gtest/gtest.h>

#include <string>

#include "core/base62.h"

namespace keyward {
namespace {

KeyFormat Format(std::vector<LegacyFormatSpec> legacy = {}) {
  return std::move(KeyFormat::Create("asa", {"live", "test"}, legacy)).value();
}

// key with its checksum broken: one random character changed.
std::string Corrupt(std::string key) {
  const size_t at = key.size() - 20;
  key[at] = key[at] == 'A' ? 'B' : 'A';
  return key;
}

// A key of another product or environment, with a checksum that holds for it.
std::string KeyOf(const std::string& product, const std::string& env) {
  return std::move(KeyFormat::Create(product, {env})).value().Generate(env);
}

TEST(KeyScannerTest, FindsKeysWithLineColumnAndShortPrefix) {
  const KeyFormat format = Format();
  const KeyScanner scanner(format);
  const std::string live = format.Generate("live");
  const std::string test = format.Generate("test");
  const std::string text = "line one\nAPI_KEY=\"" + live + "\"\n\n  " + test + "\n";
  const auto found = scanner.Scan(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].key, live);
  EXPECT_EQ(found[0].line, 2u);
  EXPECT_EQ(found[0].column, 10u);
  EXPECT_EQ(found[0].offset, text.find(live));
  EXPECT_EQ(found[0].short_prefix, live.substr(0, 9 + kShortPrefixBodyChars));
  EXPECT_EQ(found[0].environment, "live");
  EXPECT_TRUE(found[0].verified);
  EXPECT_EQ(found[1].key, test);
  EXPECT_EQ(found[1].line, 4u);
  EXPECT_EQ(found[1].column, 3u);
  EXPECT_EQ(found[1].environment, "test");
}

TEST(KeyScannerTest, FindsAKeyThatIsTheWholeTextOrAtEitherEnd) {
  const KeyFormat format = Format();
  const KeyScanner scanner(format);
  const std::string key = format.Generate("live");
  EXPECT_EQ(scanner.Scan(key).size(), 1u);
  EXPECT_EQ(scanner.Scan(key + "\n").size(), 1u);
  EXPECT_EQ(scanner.Scan("x=" + key).size(), 1u);
  EXPECT_EQ(scanner.Scan(key + " " + key).size(), 2u);
  EXPECT_EQ(scanner.Scan(key + "," + key + ";" + key).size(), 3u);
}

TEST(KeyScannerTest, FindsKeysBetweenEveryNonKeyCharacter) {
  const KeyFormat format = Format();
  const KeyScanner scanner(format);
  const std::string key = format.Generate("live");
  for (int c = 0; c < 256; ++c) {
    if (ContinuesKey(static_cast<char>(c))) continue;
    const std::string sep(1, static_cast<char>(c));
    const auto found = scanner.Scan("abc" + sep + key + sep + "def");
    ASSERT_EQ(found.size(), 1u) << "separator " << c;
    EXPECT_EQ(found[0].offset, 4u);
  }
}

TEST(KeyScannerTest, LookAlikesAreNotFindings) {
  const KeyFormat format = Format();
  const KeyScanner scanner(format);
  const std::string key = format.Generate("live");
  const std::string body = key.substr(9);
  const std::vector<std::string> look_alikes = {
      Corrupt(key),                                              // bad checksum
      "asa_live_" + body.substr(1),                              // 39 characters
      key + "A",                                                 // followed by more base62
      key + "-old",                                              // continued by -
      key + "_2",                                                // continued by _
      "x" + key,                                                 // xasa_live_…
      "_" + key,                                                 // inside an identifier
      "-" + key,                                                 // --flag=…-style run
      "asa_prod_" + body,                                        // unknown environment
      KeyOf("asa", "prod"),                                      // … with a good checksum
      KeyOf("sk", "live"),                                       // another product
      KeyOf("asax", "live"),                                     // a longer product
      "ASA_LIVE_" + body,                                        // case matters
      "asa_live_" + body.substr(0, 20) + "_" + body.substr(21),  // a _ in the body
  };
  for (const auto& text : look_alikes) {
    EXPECT_TRUE(scanner.Scan("k = " + text + "\n").empty()) << text;
  }
}

TEST(KeyScannerTest, EveryOffsetAndLengthAroundAKey) {
  // The sampling scan must not miss a key however it lines up with the
  // probes.
  const KeyFormat format = Format();
  const KeyScanner scanner(format);
  const std::string key = format.Generate("test");
  for (size_t pad = 0; pad < 2 * scanner.min_key_length() + 3; ++pad) {
    for (const std::string filler : {" ", "ab cd", "abcdefghij_klmnop ", "\n"}) {
      std::string before;
      while (before.size() < pad) before += filler;
      before.resize(pad);
      if (!before.empty() && ContinuesKey(before.back())) before.back() = ' ';
      const std::string text = before + key + " " + before;
      const auto found = scanner.Scan(text);
      ASSERT_EQ(found.size(), 1u) << "pad " << pad << " filler '" << filler << "'";
      EXPECT_EQ(found[0].offset, pad);
    }
  }
}

TEST(KeyScannerTest, LongRunsOfKeyCharactersHideNothingAndFindNothing) {
  const KeyFormat format = Format();
  const KeyScanner scanner(format);
  const std::string key = format.Generate("live");
  const std::string run(10000, 'a');
  EXPECT_TRUE(scanner.Scan(run).empty());
  EXPECT_TRUE(scanner.Scan(run + key).empty());
  const auto found = scanner.Scan(run + " " + key + " " + run);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].offset, run.size() + 1);
}

TEST(KeyScannerTest, EmptyAndShortTexts) {
  const KeyScanner scanner(Format());
  EXPECT_TRUE(scanner.Scan("").empty());
  EXPECT_TRUE(scanner.Scan("asa_live_").empty());
  EXPECT_TRUE(scanner.Scan(std::string(scanner.min_key_length() - 1, 'a')).empty());
}

TEST(KeyScannerTest, KeyLengthsFollowTheEnvironments) {
  const KeyFormat format = std::move(KeyFormat::Create("sk", {"live", "sandbox"})).value();
  const KeyScanner scanner(format);
  EXPECT_EQ(scanner.min_key_length(), 3u + 5 + kKeyBodyChars);
  EXPECT_EQ(scanner.max_key_length(), 3u + 8 + kKeyBodyChars);
  const std::string a = format.Generate("sandbox");
  const std::string b = format.Generate("live");
  const std::string text = a + "\n" + b;  // the findings view it
  const auto found = scanner.Scan(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].environment, "sandbox");
  EXPECT_EQ(found[1].environment, "live");
  EXPECT_EQ(found[1].line, 2u);
}

TEST(KeyScannerTest, CrLfLinesCount) {
  const KeyFormat format = Format();
  const KeyScanner scanner(format);
  const std::string key = format.Generate("live");
  const auto found = scanner.Scan("a\r\nb\r\n\r\nkey: " + key + "\r\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].line, 4u);
  EXPECT_EQ(found[0].column, 6u);
}

TEST(KeyScannerTest, LegacyShapesOnlyWhenAskedAndUnverified) {
  const KeyFormat format = Format({{"^asa_(live|test)_[A-Za-z0-9]{21}$", "$1", 8}});
  const std::string legacy = "asa_live_abcdefghijklmnopqrstu";
  const std::string text = "old=" + legacy + "\nnew=" + format.Generate("test") + "\n";
  EXPECT_EQ(KeyScanner(format).Scan(text).size(), 1u);
  const auto found = KeyScanner(format, true).Scan(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_FALSE(found[0].verified);
  EXPECT_EQ(found[0].key, legacy);
  EXPECT_EQ(found[0].environment, "live");
  EXPECT_LT(found[0].short_prefix.size(), legacy.size());
  EXPECT_EQ(found[0].line, 1u);
  EXPECT_TRUE(found[1].verified);
  EXPECT_EQ(found[1].line, 2u);
  // Inside a longer token, or with an environment the deployment lacks.
  EXPECT_TRUE(KeyScanner(format, true).Scan("x" + legacy + " " + legacy + "z").empty());
  EXPECT_TRUE(KeyScanner(format, true).Scan("asa_prod_abcdefghijklmnopqrstu").empty());
}

TEST(KeyScannerTest, LegacyShapeThatAlsoDescribesNativeKeysReportsThemOnce) {
  const KeyFormat format = Format({{"^asa_live_[A-Za-z0-9]{40}$", "live", 8}});
  const KeyScanner scanner(format, true);
  const std::string key = format.Generate("live");
  const auto found = scanner.Scan(key + " " + Corrupt(key));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(found[0].verified);
  EXPECT_FALSE(found[1].verified);  // the legacy shape has no checksum to fail
}

TEST(KeyScannerTest, LegacyKeysBackToBack) {
  const KeyFormat format = Format({{"^old-[0-9]{6}$", "live", 2}});
  const KeyScanner scanner(format, true);
  const auto found = scanner.Scan("old-123456 old-654321,old-111111 xold-222222 old-3333333");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].key, "old-123456");
  EXPECT_EQ(found[1].key, "old-654321");
  EXPECT_EQ(found[2].key, "old-111111");
}

TEST(KeyScannerTest, LooksBinary) {
  EXPECT_FALSE(LooksBinary(""));
  EXPECT_FALSE(LooksBinary("plain text\n"));
  EXPECT_TRUE(LooksBinary(std::string("ELF\0\1", 5)));
  std::string late(kBinarySniffBytes, 'a');
  late += '\0';
  EXPECT_FALSE(LooksBinary(late));
}

}  // namespace
}  // namespace keyward
