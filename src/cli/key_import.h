// `keyward import`: moves an operator's existing keys into keyward from a
// file, CSV (columns mapped to fields) or JSON lines (one import row per
// line), in batches through POST /v1/api-keys/import, with a progress line
// (rows per second, time left). Rejected rows go to a CSV file with their
// line numbers and reasons. A run that stops (Ctrl-C, a crash, keyward
// down) resumes after the last answered batch: FILE.import-state says
// where. Plaintext keys are read from the file only, never from the command
// line. Not thread-safe; one per command.
#ifndef KEYWARD_CLI_KEY_IMPORT_H_
#define KEYWARD_CLI_KEY_IMPORT_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace keyward {

struct ImportOptions {
  std::string url;       // KEYWARD_URL
  std::string root_key;  // KEYWARD_ROOT_KEY
  std::string file;
  std::string format;  // "csv" or "jsonl"; empty: by the file's extension
  // CSV: field -> header column; fields not named are read from the column
  // of their own name.
  std::map<std::string, std::string> columns;
  std::string workspace_id;  // for rows without one
  std::string environment;   // for rows without one
  std::string hash_encoding = "hex";
  size_t batch_size = 1000;
  bool dry_run = false;
  std::string rejects;  // empty: FILE.rejected.csv
  bool restart = false;
};

// One record of the file: the line it starts on, and the import row it
// makes, or why it makes none.
struct ImportRecord {
  uint64_t line = 0;
  std::optional<nlohmann::json> row;
  std::string error;    // no row: a machine-readable reason
  std::string message;  // no row: what is wrong
};

// Reads a file's records one at a time. CSV: RFC 4180 (quoted fields may
// hold commas, quotes and line breaks), the first line names the columns.
class ImportReader {
 public:
  // InvalidRequest when the file cannot be read, or its CSV header lacks a
  // mapped column.
  static Result<ImportReader> Open(const ImportOptions& options);
  // False at the end of the file.
  bool Next(ImportRecord* record);
  // Whether a row read so far carried a plaintext key.
  bool saw_plaintext() const { return saw_plaintext_; }

 private:
  ImportReader() = default;
  // One CSV record's fields; false at the end.
  bool NextCsvFields(std::vector<std::string>* fields, uint64_t* line, std::string* error);
  bool NextLine(std::string* line);
  ImportRecord CsvRecord(const std::vector<std::string>& fields, uint64_t line) const;
  ImportRecord JsonRecord(std::string_view text, uint64_t line) const;

  std::string text_;  // the whole file
  size_t at_ = 0;
  uint64_t line_ = 0;  // lines consumed
  bool csv_ = true;
  std::vector<std::pair<std::string, size_t>> fields_;  // field -> column index
  size_t columns_ = 0;
  std::string workspace_id_, environment_, hash_encoding_;
  bool saw_plaintext_ = false;
};

// Runs the import; messages, progress (when progress_line: err is a
// terminal) and the summary go to err. Returns the exit code
// (cli/exit_codes.h): kExitRefused when rows were rejected.
int RunImport(const ImportOptions& options, std::ostream& err, bool progress_line);

struct ExportHashesOptions {
  std::string url;
  std::string root_key;
  std::string output;  // empty: stdout
  std::string workspace_id;
  std::string environment;
  bool include_revoked = false;
};

// `keyward export-hashes`: every key's hash and metadata as JSON lines in
// the import shape, to options.output (FILE.partial until complete) or out.
int RunExportHashes(const ExportHashesOptions& options, std::FILE* out, std::ostream& err,
                    bool progress_line);

}  // namespace keyward

#endif  // KEYWARD_CLI_KEY_IMPORT_H_
