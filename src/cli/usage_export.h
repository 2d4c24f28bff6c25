// `keyward usage export`: a workspace's usage per key and day, as CSV or
// JSON, streamed from GET /v1/usage/export to a file or to stdout without
// being held in memory. A file is written as FILE.partial and renamed to
// FILE only once the transfer is complete, so that a broken transfer never
// leaves a short file under the name asked for. Not thread-safe; one per
// command.
#ifndef KEYWARD_CLI_USAGE_EXPORT_H_
#define KEYWARD_CLI_USAGE_EXPORT_H_

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>

#include "cli/progress.h"

namespace keyward {

struct UsageExportOptions {
  std::string url;       // KEYWARD_URL
  std::string root_key;  // KEYWARD_ROOT_KEY
  std::string workspace_id;
  std::string from, to;        // empty: the server's default
  std::string format = "csv";  // or "json"
  std::string environment;     // empty: every environment
  std::string output;          // empty: out
};

// Runs the export: the body goes to options.output, or to out when there is
// none; messages, the progress line (when progress_line: err is a
// terminal) and the final summary go to err. Returns the exit code
// (cli/exit_codes.h): a broken transfer is kExitUnavailable.
int RunUsageExport(const UsageExportOptions& options, std::FILE* out, std::ostream& err,
                   bool progress_line);

// What an export has received, for people: "exported 120,000 rows
// (14.2 MB)" for CSV (the rows after the header line), "exported 14.2 MB"
// for JSON.
class ExportProgress {
 public:
  explicit ExportProgress(bool count_rows) : count_rows_(count_rows) {}
  void Add(std::string_view piece);
  std::string Text() const;
  uint64_t bytes() const { return bytes_; }

 private:
  const bool count_rows_;
  uint64_t bytes_ = 0;
  uint64_t lines_ = 0;
};

}  // namespace keyward

#endif  // KEYWARD_CLI_USAGE_EXPORT_H_
