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
#include "cli/progress.h"
#include "core/status.h"

namespace keyward {

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

int RunUsageExport(const UsageExportOptions& options, std::FILE* out, std::ostream& err,
                   bool progress_line) {
  auto client = HttpClient::ForRootKey(options.url, options.root_key);
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
  if (Status st = OpenOutput(options.output, out, &partial, &sink); !st.ok()) {
    err << "keyward: " << st.message() << "\n";
    return kExitUsage;
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
  if (Status st = FinishOutput(partial, out); !st.ok()) {
    err << "keyward: " << st.message() << "\n";
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
