#include "server/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace keyward {
namespace {

class LogTest : public ::testing::Test {
 protected:
  LogTest() {
    fd_ = ::open(dir_.File("log").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    LogLine::SetFd(fd_);
  }
  ~LogTest() override {
    LogLine::Flush();
    LogLine::SetFd(1);
    ::close(fd_);
  }
  std::string Written() { return keyward::testing::ReadFileBytes(dir_.File("log")); }

  keyward::testing::TempDir dir_;
  int fd_;
};

TEST_F(LogTest, LinesAreJsonWhateverTheyCarry) {
  LogLine("info", "request")
      .Str("path", std::string("/a\"b\\c\n\x01\xff", 10))
      .Int("status", 200)
      .Emit();
  const std::string out = Written();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["msg"], "request");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["level"], "info");
}

// Each byte, between runs of plain text, comes back from a JSON parser as
// itself (ASCII) or as the code point of its value (anything else, escaped
// byte-wise): nothing a client sends is lost or breaks the line.
TEST(AppendJsonEscapedTest, EveryByteSurvivesAsJson) {
  for (int b = 0; b < 256; ++b) {
    const std::string text = std::string("ab") + static_cast<char>(b) + "cd" +
                             static_cast<char>(b) + static_cast<char>(b);
    std::string out = "\"";
    AppendJsonEscaped(out, text);
    out += "\"";
    const auto parsed = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << b << ": " << out;
    std::string one;
    if (b < 0x80) {
      one = std::string(1, static_cast<char>(b));
    } else {  // U+0080..U+00FF in UTF-8
      one = {static_cast<char>(0xc0 | (b >> 6)), static_cast<char>(0x80 | (b & 0x3f))};
    }
    EXPECT_EQ(parsed.get<std::string>(), "ab" + one + "cd" + one + one) << b;
  }
}

TEST_F(LogTest, NumbersHaveThreeDecimals) {
  LogLine("info", "n")
      .Num("a", 0)
      .Num("b", 0.4567)
      .Num("c", 12.0005001)
      .Num("d", 1234567.25)
      .Num("e", -1.5)
      .Emit();
  const std::string out = Written();
  EXPECT_NE(out.find("\"a\":0.000,\"b\":0.457,\"c\":12.001,\"d\":1234567.250,\"e\":-1.500"),
            std::string::npos)
      << out;
}

TEST_F(LogTest, BufferedLinesWaitForFlushAndKeepTheirOrder) {
  LogLine("info", "first").EmitBuffered();
  LogLine("info", "second").EmitBuffered();
  EXPECT_EQ(Written(), "") << "buffered lines were written before a flush";
  LogLine("warn", "third").Emit();  // an immediate line flushes what came before it
  std::string out = Written();
  const size_t a = out.find("first"), b = out.find("second"), c = out.find("third");
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  LogLine("info", "fourth").EmitBuffered();
  LogLine::Flush();
  EXPECT_NE(Written().find("fourth"), std::string::npos);
}

TEST_F(LogTest, AFullBufferIsWrittenWithoutWaiting) {
  for (int i = 0; i < 2000; ++i)
    LogLine("info", "request").Str("path", std::string(64, '/')).EmitBuffered();
  EXPECT_GT(Written().size(), 64u * 1024) << "the buffer grew past its limit unwritten";
}

// Threads that log at once, each into its own buffer, while another
// flushes (run under TSan by make test-tsan): every line arrives once,
// whole, and each thread's lines in the order it wrote them.
TEST_F(LogTest, BufferedLinesFromManyThreadsArriveWholeAndInOrder) {
  constexpr int kThreads = 4, kLines = 3000;
  std::atomic<bool> done{false};
  std::thread flusher([&] {
    while (!done.load()) LogLine::Flush();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        LogLine("info", "request")
            .Int("thread", t)
            .Int("n", i)
            .Str("pad", std::string(40, 'p'))
            .EmitBuffered();
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  flusher.join();
  LogLine::Flush();
  const std::string out = Written();
  std::vector<int> next(kThreads, 0);
  size_t start = 0, lines = 0;
  while (start < out.size()) {
    const size_t end = out.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    const auto j = nlohmann::json::parse(out.substr(start, end - start));  // throws on a torn line
    const int t = j["thread"], n = j["n"];
    ASSERT_EQ(n, next[static_cast<size_t>(t)]) << "thread " << t << "'s lines out of order";
    next[static_cast<size_t>(t)]++;
    start = end + 1;
    lines++;
  }
  EXPECT_EQ(lines, static_cast<size_t>(kThreads * kLines));
}

}  // namespace
}  // namespace keyward
