#include "core/sha256.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace keyward {
namespace {

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(ToHex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, SameAnswerFromManyThreads) {
  const std::string expected = ToHex(Sha256("kw_root_x"));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (ToHex(Sha256("kw_root_x")) != expected) mismatches++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Sha256Test, HashEqualsComparesEveryByte) {
  KeyHash a = Sha256("a");
  KeyHash b = a;
  EXPECT_TRUE(HashEquals(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(HashEquals(a, b));
}

}  // namespace
}  // namespace keyward
