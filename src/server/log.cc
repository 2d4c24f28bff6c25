#include "server/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "core/clock.h"
#include "core/mutex.h"
#include "core/redact.h"
#include "core/time_format.h"

namespace keyward {
namespace {

std::atomic<int> g_fd{1};

constexpr size_t kBufferLimit = 64 * 1024;
Mutex g_buffer_mu;
std::string g_buffer GUARDED_BY(g_buffer_mu);

void WriteAll(const char* p, size_t left) {
  const int fd = g_fd.load(std::memory_order_relaxed);
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void FlushLocked() REQUIRES(g_buffer_mu) {
  if (g_buffer.empty()) return;
  WriteAll(g_buffer.data(), g_buffer.size());
  g_buffer.clear();
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
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
        if (c < 0x20 || c == 0x7f || c >= 0x80) {
          // Control bytes and anything non-ASCII are escaped byte-wise, so a
          // log line stays valid JSON whatever a client sent.
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

LogLine::LogLine(std::string_view level, std::string_view msg) : enabled_(true) {
  buf_.reserve(256);
  buf_ += "{\"ts\":\"";
  buf_ += FormatRfc3339(SystemClock::Get().Now());
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
  char tmp[32];
  const int n = std::snprintf(tmp, sizeof tmp, "%.3f", value);
  buf_.append(tmp, n > 0 ? static_cast<size_t>(n) : 0);
  return *this;
}

void LogLine::Emit() {
  if (!enabled_) return;
  buf_ += "}\n";
  MutexLock lock(&g_buffer_mu);
  FlushLocked();  // keep the order lines were emitted in
  WriteAll(buf_.data(), buf_.size());
  enabled_ = false;
}

void LogLine::EmitBuffered() {
  if (!enabled_) return;
  buf_ += "}\n";
  MutexLock lock(&g_buffer_mu);
  g_buffer += buf_;
  if (g_buffer.size() >= kBufferLimit) FlushLocked();
  enabled_ = false;
}

void LogLine::Flush() {
  MutexLock lock(&g_buffer_mu);
  FlushLocked();
}

void LogLine::SetFd(int fd) { g_fd.store(fd); }

}  // namespace keyward
