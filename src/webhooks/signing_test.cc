// Standard Webhooks signatures: SignWebhook against an HMAC computed here
// with OpenSSL directly, the specification's own example, several secrets,
// secrets that are not "whsec_" + base64, and the base64 helpers.
#include "webhooks/signing.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>

namespace keyward {
namespace {

// base64(HMAC-SHA256(base64decode(secret without whsec_), "id.ts.body")),
// with nothing of signing.cc.
std::string ExpectedSignature(const std::string& secret, const std::string& id, int64_t ts,
                              const std::string& body) {
  const std::string b64 = secret.substr(6);
  std::string key(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  EXPECT_GT(n, 0);
  key.resize(static_cast<size_t>(n));
  if (b64.size() >= 1 && b64.back() == '=') key.pop_back();
  if (b64.size() >= 2 && b64[b64.size() - 2] == '=') key.pop_back();
  const std::string content = id + "." + std::to_string(ts) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_len);
  std::string out(4 * ((mac_len + 2) / 3), '\0');
  n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(mac_len));
  out.resize(static_cast<size_t>(n));
  return "v1," + out;
}

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr const char* kBody = R"({"test": 2432232314})";

TEST(WebhookSigningTest, MatchesAnHmacComputedIndependently) {
  const std::string got = SignWebhook({kSecret}, kId, kTimestamp, kBody);
  EXPECT_EQ(got, ExpectedSignature(kSecret, kId, kTimestamp, kBody));
  // The example of the Standard Webhooks specification (and its libraries'
  // test suites) for this secret, id, timestamp and body.
  EXPECT_EQ(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSigningTest, EveryPartOfTheMessageIsSigned) {
  const std::string base = SignWebhook({kSecret}, kId, kTimestamp, kBody);
  EXPECT_NE(SignWebhook({kSecret}, "msg_other", kTimestamp, kBody), base);
  EXPECT_NE(SignWebhook({kSecret}, kId, kTimestamp + 1, kBody), base);
  EXPECT_NE(SignWebhook({kSecret}, kId, kTimestamp, R"({"test": 2432232315})"), base);
  // Binary and empty bodies are signed as bytes.
  const std::string binary("a\0b\xff", 4);
  EXPECT_EQ(SignWebhook({kSecret}, kId, 1, binary), ExpectedSignature(kSecret, kId, 1, binary));
  EXPECT_EQ(SignWebhook({kSecret}, kId, 0, ""), ExpectedSignature(kSecret, kId, 0, ""));
}

TEST(WebhookSigningTest, TwoSecretsGiveTwoSignaturesCurrentFirst) {
  const std::string fresh = NewWebhookSecret();
  const std::string got = SignWebhook({fresh, kSecret}, kId, kTimestamp, kBody);
  EXPECT_EQ(got, ExpectedSignature(fresh, kId, kTimestamp, kBody) + " " +
                     ExpectedSignature(kSecret, kId, kTimestamp, kBody));
  EXPECT_EQ(SignWebhook({}, kId, kTimestamp, kBody), "");
}

TEST(WebhookSigningTest, ASecretThatIsNotWhsecBase64SignsNothing) {
  for (const std::string bad : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!",
                                "whsec_abc", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""}) {
    EXPECT_EQ(SignWebhook({bad}, kId, kTimestamp, kBody), "") << bad;
    // One bad secret among good ones: nothing, rather than a partial header.
    EXPECT_EQ(SignWebhook({kSecret, bad}, kId, kTimestamp, kBody), "") << bad;
  }
}

TEST(WebhookSigningTest, NewSecretsAre32RandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string s = NewWebhookSecret();
    ASSERT_EQ(s.substr(0, 6), "whsec_");
    auto bytes = Base64Decode(s.substr(6));
    ASSERT_TRUE(bytes.has_value()) << s;
    EXPECT_EQ(bytes->size(), 32u);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(WebhookSigningTest, Base64RoundTripsAndRefusesWhatIsNot) {
  for (const std::string& text : {std::string("f"), std::string("fo"), std::string("foo"),
                                  std::string("foob"), std::string("\0\xff\x10", 3)}) {
    auto back = Base64Decode(Base64Encode(text));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, text);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode(""), "");
  for (const char* bad : {"", "abc", "ab c", "Zm9v-mFy", "Zm9v\nYmFy", "Zm9vYmE*"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace keyward
