#include "cli/usage_export.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <optional>

#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "core/status.h"

namespace keyward {
namespace {

// The progress line is redrawn at most this often: often enough to look
// alive, seldom enough to cost nothing against the transfer.
constexpr std::chrono::milliseconds kRefresh{250};

std::string ErrnoText() { return std::strerror(errno); }

// The line a terminal shows while the export runs, redrawn in place; off
// when err is not a terminal (a log file would fill with carriage returns).
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool live) : err_(err), live_(live) {}

  void Show(const std::string& text) {
    if (!live_) return;
    const auto now = std::chrono::steady_clock::now();
    if (width_ > 0 && now - last_ < kRefresh) return;
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

}  // namespace

void ExportProgress::Add(std::string_view piece) {
  bytes_ += piece.size();
  if (count_rows_) lines_ += static_cast<uint64_t>(std::count(piece.begin(), piece.end(), '\n'));
}

std::string ExportProgress::Text() const {
  if (!count_rows_) return "exported " + FormatBytes(bytes_);
  const uint64_t rows = lines_ > 0 ? lines_ - 1 : 0;  // the first line is the header
  return "exported " + FormatCount(rows) + (rows == 1 ? " row (" : " rows (") +
         FormatBytes(bytes_) + ")";
}

std::string FormatCount(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatBytes(uint64_t n) {
  if (n < 1000) return std::to_string(n) + (n == 1 ? " byte" : " bytes");
  static constexpr const char* kUnits[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(n) / 1000;
  size_t unit = 0;
  while (value >= 999.95 && unit + 1 < std::size(kUnits)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  return text;
}

int RunUsageExport(const UsageExportOptions& options, std::FILE* out, std::ostream& err,
                   bool progress_line) {
  if (options.root_key.empty()) {
    err << "keyward: set KEYWARD_ROOT_KEY to a root key (kw_root_…) first\n";
    return kExitUsage;
  }
  auto client = HttpClient::Create(options.url, options.root_key);
  if (!client.ok()) {
    err << "keyward: " << client.status().message() << "\n";
    return kExitUsage;
  }
  const bool csv = options.format == "csv";
  std::string target = "/v1/usage/export?workspace_id=" + UrlEncode(options.workspace_id) +
                       "&format=" + UrlEncode(options.format);
  if (!options.from.empty()) target += "&from=" + UrlEncode(options.from);
  if (!options.to.empty()) target += "&to=" + UrlEncode(options.to);
  if (!options.environment.empty()) target += "&environment=" + UrlEncode(options.environment);

  // Opened before asking, so that an --output that cannot be written is
  // known before the server starts an export.
  std::optional<PartialFile> partial;
  std::FILE* sink = out;
  if (!options.output.empty()) {
    partial.emplace(options.output);
    if (Status st = partial->Open(); !st.ok()) {
      err << "keyward: " << st.message() << "\n";
      return kExitUsage;
    }
    sink = partial->get();
  }
  const std::string where = options.output.empty() ? "stdout" : options.output;

  ExportProgress progress(csv);
  ProgressLine line(err, progress_line);
  const auto start = std::chrono::steady_clock::now();
  auto res = client->SendStreamed(
      "GET", target, csv ? "text/csv, application/json" : "application/json",
      [&](std::string_view piece) {
        if (std::fwrite(piece.data(), 1, piece.size(), sink) != piece.size()) {
          return Status::Internal("cannot write " + (partial ? partial->path() : where) + ": " +
                                  ErrnoText());
        }
        progress.Add(piece);
        line.Show(progress.Text());
        return Status::Ok();
      });
  line.Clear();
  if (!res.ok()) {
    err << "keyward: " << res.status().message() << "\n";
    if (partial) {
      err << "keyward: the export is incomplete; " << options.output << " was not written\n";
    } else if (progress.bytes() > 0) {
      err << "keyward: the export is incomplete; what went to stdout is a part only\n";
    }
    return kExitUnavailable;
  }
  if (res->status < 200 || res->status >= 300) {
    err << "keyward: " << HttpErrorText(*res) << "\n";
    return ExitCodeForHttpStatus(res->status);
  }
  if (partial) {
    if (Status st = partial->Commit(); !st.ok()) {
      err << "keyward: " << st.message() << "\n";
      return kExitUnavailable;
    }
  } else if (std::fflush(out) != 0) {
    err << "keyward: cannot write stdout: " << ErrnoText() << "\n";
    return kExitUnavailable;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char took[32];
  std::snprintf(took, sizeof(took), "%.1f s", seconds);
  err << "keyward: " << progress.Text() << " to " << where << " in " << took << "\n";
  return kExitOk;
}

}  // namespace keyward
