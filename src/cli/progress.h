// What the command line shows while long work runs, and how it writes
// files that must not be left half-written: a progress line redrawn in
// place on a terminal, FILE.partial renamed to FILE once complete, and
// numbers for people. Not thread-safe; one per command.
#ifndef KEYWARD_CLI_PROGRESS_H_
#define KEYWARD_CLI_PROGRESS_H_

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <string>

#include "core/status.h"

namespace keyward {

// strerror(errno), for messages.
std::string ErrnoText();

// The progress line is redrawn at most this often: often enough to look
// alive, seldom enough to cost nothing against the transfer.
constexpr std::chrono::milliseconds kProgressRefresh{250};

// The line a terminal shows while the export runs, redrawn in place; off
// when err is not a terminal (a log file would fill with carriage returns).
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool live) : err_(err), live_(live) {}

  void Show(const std::string& text) {
    if (!live_) return;
    const auto now = std::chrono::steady_clock::now();
    if (width_ > 0 && now - last_ < kProgressRefresh) return;
    last_ = now;
    const size_t width = 9 + text.size() + 1;  // "…" takes one column
    err_ << "\rkeyward: " << text << "…" << std::string(width_ > width ? width_ - width : 0, ' ')
         << std::flush;
    width_ = width;
  }

  // Clears the line, so that a message can take its place.
  void Clear() {
    if (width_ == 0) return;
    err_ << '\r' << std::string(width_, ' ') << '\r' << std::flush;
    width_ = 0;
  }

 private:
  std::ostream& err_;
  const bool live_;
  size_t width_ = 0;  // columns shown; 0: nothing shown
  std::chrono::steady_clock::time_point last_;
};

// FILE.partial while the export runs: removed when it goes, unless Commit
// has made it FILE.
class PartialFile {
 public:
  explicit PartialFile(std::string final_path)
      : final_path_(std::move(final_path)), path_(final_path_ + ".partial") {}
  ~PartialFile() {
    if (file_ == nullptr) return;
    std::fclose(file_);
    std::remove(path_.c_str());
  }

  Status Open() {
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr)
      return Status::InvalidRequest("cannot write " + path_ + ": " + ErrnoText());
    return Status::Ok();
  }
  std::FILE* get() const { return file_; }
  const std::string& path() const { return path_; }

  // On disk before the name says it is complete: a crash just after the
  // rename leaves a whole file, not an empty one under the final name.
  Status Commit() {
    std::FILE* f = file_;
    file_ = nullptr;
    const bool written = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const std::string why = written ? "" : ErrnoText();
    if (std::fclose(f) != 0 || !written) {
      std::remove(path_.c_str());
      return Status::Internal("cannot write " + path_ + ": " + (written ? ErrnoText() : why));
    }
    if (std::rename(path_.c_str(), final_path_.c_str()) != 0) {
      const std::string renamed = ErrnoText();
      std::remove(path_.c_str());
      return Status::Internal("cannot rename " + path_ + " to " + final_path_ + ": " + renamed);
    }
    return Status::Ok();
  }

 private:
  const std::string final_path_, path_;
  std::FILE* file_ = nullptr;
};

// Begins a command's output: output, when named, as a PartialFile
// (*partial, opened), else out; *sink is where to write.
Status OpenOutput(const std::string& output, std::FILE* out, std::optional<PartialFile>* partial,
                  std::FILE** sink);

// Ends a command's output: partial, when there is one, becomes its file
// (PartialFile::Commit); otherwise out (stdout) is flushed.
Status FinishOutput(std::optional<PartialFile>& partial, std::FILE* out);

// 120000 -> "120,000".
std::string FormatCount(uint64_t n);
// 14200000 -> "14.2 MB" (decimal units, as file managers show them).
std::string FormatBytes(uint64_t n);

}  // namespace keyward

#endif  // KEYWARD_CLI_PROGRESS_H_
