// Structured logs: one JSON object per line on stdout, written with whole
// lines per write(2) so lines from different threads never interleave. Values are
// JSON-escaped; callers pass a key's short prefix at most, never a secret.
// Buffered lines (the access log) gather in a buffer per thread; each
// thread's lines keep their order, lines of different threads are ordered
// by batch.
// Thread-safe.
#ifndef KEYWARD_SERVER_LOG_H_
#define KEYWARD_SERVER_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keyward {

class LogLine {
 public:
  LogLine(std::string_view level, std::string_view msg);
  LogLine& Str(std::string_view key, std::string_view value);
  LogLine& Int(std::string_view key, int64_t value);
  LogLine& Num(std::string_view key, double value);
  // Writes the line now (after anything buffered); a LogLine is emitted once.
  void Emit();
  // Appends the line to a buffer written out by Flush, or at once when the
  // buffer passes 64 KiB. For the access log: one write(2) per batch instead
  // of per request. Lines buffered when the process is killed are lost.
  void EmitBuffered();
  // Writes what EmitBuffered gathered. keyward serve calls it every 200 ms
  // and at a stop.
  static void Flush();

  // Where lines go (default: fd 1). For tests.
  static void SetFd(int fd);

 private:
  void Key(std::string_view key);
  std::string buf_;
  bool enabled_;
};

// Appends s to out as the inside of a JSON string.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace keyward

#endif  // KEYWARD_SERVER_LOG_H_
