#include "server/body_stream.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace keyward {
namespace {

// A producer that hands out the given pieces, then is done.
BodyProducer Pieces(std::vector<std::string> pieces, int* calls = nullptr) {
  return
      [pieces = std::move(pieces), i = size_t{0}, calls](std::string* chunk, bool* done) mutable {
        if (calls) ++*calls;
        if (i < pieces.size()) *chunk += pieces[i++];
        *done = i == pieces.size();
        return Status::Ok();
      };
}

TEST(BodyStreamTest, SmallPiecesAreGatheredIntoOneChunkAndTheLastChunkEndsIt) {
  BodyStream body(Pieces({"day,key\n", "2026-11-01,key_1\n", "2026-11-02,key_1\n"}), true);
  std::string out;
  bool finished = false;
  ASSERT_TRUE(body.Next(&out, &finished).ok());
  EXPECT_TRUE(finished);
  EXPECT_EQ(out, "2a\r\nday,key\n2026-11-01,key_1\n2026-11-02,key_1\n\r\n0\r\n\r\n");
  EXPECT_EQ(body.body_bytes(), 42u);
}

TEST(BodyStreamTest, AWriteCarriesAboutkWriteBytesAndWaitsForTheNextCall) {
  const std::string big(BodyStream::kWriteBytes / 2 + 1, 'x');
  int calls = 0;
  BodyStream body(Pieces({big, big, big, "end"}, &calls), true);
  std::string out;
  bool finished = false;
  ASSERT_TRUE(body.Next(&out, &finished).ok());
  EXPECT_FALSE(finished);
  EXPECT_EQ(calls, 2);  // the third piece waits until this write is done
  EXPECT_EQ(out, "10002\r\n" + big + big + "\r\n");
  out.clear();
  ASSERT_TRUE(body.Next(&out, &finished).ok());
  EXPECT_TRUE(finished);
  EXPECT_EQ(out, "8004\r\n" + big + "end\r\n0\r\n\r\n");
  EXPECT_EQ(calls, 4);
}

TEST(BodyStreamTest, NothingProducedIsNoChunkAndNoEnd) {
  int calls = 0;
  BodyStream body(
      [&calls](std::string*, bool*) {
        ++calls;
        return Status::Ok();
      },
      true);
  std::string out;
  bool finished = true;
  ASSERT_TRUE(body.Next(&out, &finished).ok());
  EXPECT_FALSE(finished);
  EXPECT_EQ(out, "");  // an empty chunk, "0\r\n\r\n", would end the body
  EXPECT_EQ(calls, BodyStream::kCallsPerNext);
}

TEST(BodyStreamTest, AnEmptyBodyIsTheLastChunkAlone) {
  BodyStream body(Pieces({""}), true);
  std::string out = "HEAD\r\n\r\n";  // after the head, as the session calls it
  bool finished = false;
  ASSERT_TRUE(body.Next(&out, &finished).ok());
  EXPECT_TRUE(finished);
  EXPECT_EQ(out, "HEAD\r\n\r\n0\r\n\r\n");
}

TEST(BodyStreamTest, Http10GetsThePiecesAsTheyAre) {
  BodyStream body(Pieces({"a,b\n", "1,2\n"}), false);
  std::string out;
  bool finished = false;
  ASSERT_TRUE(body.Next(&out, &finished).ok());
  EXPECT_TRUE(finished);
  EXPECT_EQ(out, "a,b\n1,2\n");
}

TEST(BodyStreamTest, AProducerErrorOrThrowIsAnError) {
  BodyStream failing(
      [](std::string* chunk, bool*) {
        *chunk += "half a row";
        return Status::Unavailable("database gone");
      },
      true);
  std::string out;
  bool finished = false;
  const Status st = failing.Next(&out, &finished);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_FALSE(finished);
  EXPECT_EQ(out, "");  // what came with the error is not sent

  BodyStream throwing([](std::string*, bool*) -> Status { throw std::runtime_error("bug"); }, true);
  const Status thrown = throwing.Next(&out, &finished);
  EXPECT_EQ(thrown.code(), Code::kInternal);
  EXPECT_NE(thrown.message().find("bug"), std::string::npos);
}

}  // namespace
}  // namespace keyward
