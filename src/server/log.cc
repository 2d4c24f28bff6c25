#include "server/log.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/mutex.h"
#include "core/redact.h"
#include "core/time_format.h"

namespace keyward {
namespace {

std::atomic<int> g_fd{1};

constexpr size_t kBufferLimit = 64 * 1024;

// Whole writes go out one at a time, so that no two interleave on a pipe.
Mutex g_write_mu;

void WriteAll(const char* p, size_t left) REQUIRES(g_write_mu) {
  const int fd = g_fd.load(std::memory_order_relaxed);
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// Each thread's buffered lines (EmitBuffered), as each nginx worker keeps
// its own log buffer: serving threads share no lock to log a request.
struct ThreadBuffer {
  Mutex mu;  // this thread's, and Flush's
  std::string lines GUARDED_BY(mu);
};
Mutex g_buffers_mu;
std::vector<std::shared_ptr<ThreadBuffer>> g_buffers GUARDED_BY(g_buffers_mu);

ThreadBuffer& MyBuffer() {
  thread_local std::shared_ptr<ThreadBuffer> mine = [] {
    auto b = std::make_shared<ThreadBuffer>();
    MutexLock lock(&g_buffers_mu);
    g_buffers.push_back(b);
    return b;
  }();
  return *mine;
}

// Writes out what b holds. The lines are taken out under the write lock,
// so that two flushes of one buffer (its thread's, when full, and Flush's)
// write in the order they took; b's own lock is held only for the swap, so
// its thread goes on buffering while the write happens.
void FlushBuffer(ThreadBuffer& b) {
  MutexLock write_lock(&g_write_mu);
  std::string out;
  {
    MutexLock lock(&b.mu);
    out.swap(b.lines);
    b.lines.reserve(out.capacity());
  }
  WriteAll(out.data(), out.size());
}

void FlushAll() {
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    MutexLock lock(&g_buffers_mu);
    // A thread that has ended left its buffer to the list alone: written
    // below one last time, then dropped.
    buffers = g_buffers;
    std::erase_if(g_buffers,
                  [](const std::shared_ptr<ThreadBuffer>& b) { return b.use_count() == 1; });
  }
  for (const auto& b : buffers) FlushBuffer(*b);
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    // The run of bytes that stand for themselves, appended at once.
    size_t j = i;
    while (j < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
      ++j;
    }
    out.append(s.data() + i, j - i);
    if (j == s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[j]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        // Control bytes and anything non-ASCII are escaped byte-wise, so a
        // log line stays valid JSON whatever a client sent.
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    i = j + 1;
  }
}

LogLine::LogLine(std::string_view level, std::string_view msg) : enabled_(true) {
  buf_.reserve(256);
  buf_ += "{\"ts\":\"";
  AppendRfc3339(buf_, SystemClock::Get().Now());
  buf_ += "\",\"level\":\"";
  buf_ += level;
  buf_ += "\",\"msg\":\"";
  AppendJsonEscaped(buf_, msg);
  buf_ += '"';
}

void LogLine::Key(std::string_view key) {
  buf_ += ",\"";
  buf_ += key;
  buf_ += "\":";
}

LogLine& LogLine::Str(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  Key(key);
  buf_ += '"';
  // Values can carry what a client sent (a path, an error); a secret in one
  // is cut to its short prefix.
  if (HasSecretShape(value)) {
    AppendJsonEscaped(buf_, RedactSecrets(value));
  } else {
    AppendJsonEscaped(buf_, value);
  }
  buf_ += '"';
  return *this;
}

LogLine& LogLine::Int(std::string_view key, int64_t value) {
  if (!enabled_) return *this;
  Key(key);
  buf_ += std::to_string(value);
  return *this;
}

LogLine& LogLine::Num(std::string_view key, double value) {
  if (!enabled_) return *this;
  Key(key);
  if (value >= 0 && value < 1e12) {
    // Three decimals by hand: printf's float formatting showed in the
    // profile of every request (its duration_ms).
    const int64_t thousandths = std::llround(value * 1000);
    buf_ += std::to_string(thousandths / 1000);
    const int frac = static_cast<int>(thousandths % 1000);
    const char digits[4] = {'.', static_cast<char>('0' + frac / 100),
                            static_cast<char>('0' + frac / 10 % 10),
                            static_cast<char>('0' + frac % 10)};
    buf_.append(digits, sizeof digits);
    return *this;
  }
  char tmp[32];
  const int n = std::snprintf(tmp, sizeof tmp, "%.3f", value);
  buf_.append(tmp, n > 0 ? static_cast<size_t>(n) : 0);
  return *this;
}

void LogLine::Emit() {
  if (!enabled_) return;
  buf_ += "}\n";
  FlushAll();  // what was buffered before goes first
  MutexLock lock(&g_write_mu);
  WriteAll(buf_.data(), buf_.size());
  enabled_ = false;
}

void LogLine::EmitBuffered() {
  if (!enabled_) return;
  buf_ += "}\n";
  enabled_ = false;
  ThreadBuffer& b = MyBuffer();
  bool full;
  {
    MutexLock lock(&b.mu);
    b.lines += buf_;
    full = b.lines.size() >= kBufferLimit;
  }
  if (full) FlushBuffer(b);
}

void LogLine::Flush() { FlushAll(); }

void LogLine::SetFd(int fd) { g_fd.store(fd); }

}  // namespace keyward
