#include "core/base62.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

TEST(Crc32Test, KnownAnswers) {
  EXPECT_EQ(Crc32(""), 0x00000000u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(Base62Test, EncodesKnownValues) {
  EXPECT_EQ(EncodeBase62Fixed(0, 6), "000000");
  EXPECT_EQ(EncodeBase62Fixed(61, 2), "0z");
  EXPECT_EQ(EncodeBase62Fixed(62, 2), "10");
  EXPECT_EQ(EncodeBase62Fixed(0xFFFFFFFFu, 6), "4gfFC3");
  EXPECT_EQ(EncodeBase62Fixed(0xCBF43926u, 6), "3jZRME");
}

TEST(Base62Test, DecodeInvertsEncode) {
  for (uint64_t v : {0ull, 1ull, 61ull, 62ull, 3843ull, 0xCBF43926ull, 0xFFFFFFFFull}) {
    EXPECT_EQ(DecodeBase62(EncodeBase62Fixed(v, 6)), v);
  }
}

TEST(Base62Test, DecodeRefusesBadCharactersAndOverflow) {
  EXPECT_FALSE(DecodeBase62("12-4"));
  EXPECT_FALSE(DecodeBase62("abc_"));
  EXPECT_FALSE(DecodeBase62("zzzzzzzzzzzzzzzzzzzzzzzz"));  // > 2^64
}

TEST(Base62Test, AlphabetValues) {
  EXPECT_EQ(Base62Value('0'), 0);
  EXPECT_EQ(Base62Value('A'), 10);
  EXPECT_EQ(Base62Value('a'), 36);
  EXPECT_EQ(Base62Value('z'), 61);
  EXPECT_EQ(Base62Value('_'), -1);
  EXPECT_EQ(Base62Value('\0'), -1);
  EXPECT_EQ(Base62Value('\xff'), -1);
}

}  // namespace
}  // namespace keyward
