#include "server/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace keyward
